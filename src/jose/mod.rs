//! JOSE: signing keys, JWS compact serialization, JWK sets.
