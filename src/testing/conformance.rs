//! The store conformance kit: a suite any [`Store`](crate::Store) implementation can run.
