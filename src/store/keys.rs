//! Signing keys as stored, and their lifecycle as changes a store applies atomically.
//!
//! Each key is `next` (published in the JWKS, not yet signing), `active` (signs) or `retired`
//! (published until every token it signed has expired, then removed). The rules live here,
//! once, in [`KeyChange::apply`]: a store only has to run it on its key set under one lock or
//! transaction, so every store agrees on them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::model::Algorithm;

/// A signing key as stored. The private key is sealed: stores keep it as opaque bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Key id, unique, published in the JWKS and JWT headers.
    pub kid: String,
    /// The algorithm this key signs with.
    pub alg: Algorithm,
    /// The private key's PKCS#8 DER, sealed (XChaCha20-Poly1305) under a key derived from
    /// the provider's system secret, with the `kid` and `alg` as associated data: a copy of
    /// the store does not reveal it, and it opens only for a provider with the same secret.
    pub sealed_private_key: Vec<u8>,
    /// When the key was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Where the key is in its lifecycle. Keys stored before the lifecycle existed read as
    /// `active`; the newest active key of an algorithm signs.
    #[serde(default)]
    pub state: KeyState,
    /// When the key started signing (scheduled rotation counts from here).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub activated_at: Option<OffsetDateTime>,
    /// When the key stopped signing (its removal counts from here).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
    /// `None`: one of the provider's signing keys. `Some`: a key of a set the host keeps
    /// through the JSON Web Key API, which the provider never signs with or publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
}

impl KeyRecord {
    /// Whether this is one of the provider's own signing keys.
    pub fn is_signing_key(&self) -> bool {
        self.set.is_none()
    }
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("activated_at", &self.activated_at)
            .field("retired_at", &self.retired_at)
            .field("set", &self.set)
            .finish_non_exhaustive()
    }
}

/// The lifecycle state of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published, so relying parties cache it before it signs anything.
    Next,
    /// Signs.
    #[default]
    Active,
    /// Published until the tokens it signed have expired.
    Retired,
}

impl KeyState {
    /// The state's name, as in the JSON of a [`KeyRecord`].
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

/// One atomic change of the key set.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyChange {
    /// First start: for each algorithm of these records that has no active key yet, insert
    /// its records (an active and a next key); the others are dropped. Two instances starting
    /// together thus agree on one key set.
    Initial(Vec<KeyRecord>),
    /// Rotation of one algorithm's keys; see [`KeyRotation`].
    Rotate(KeyRotation),
    /// Remove the retired keys retired before this instant (their tokens have expired).
    RemoveRetiredBefore(OffsetDateTime),
    /// Remove one retired key now (e.g. after a compromise). [`StoreError::NotFound`] if no
    /// key has this id, [`StoreError::Conflict`] if it is not retired.
    RemoveRetired(String),
    /// Replace the sealed private keys of these records (by set and `kid`): re-sealing under
    /// a new system secret. Records no longer stored are skipped.
    Reseal(Vec<KeyRecord>),
    /// Add a key to the host's set named in it; [`StoreError::Conflict`] if the set has
    /// its `kid`.
    AddToSet(KeyRecord),
    /// Add or replace (by `kid`) a key of the host's set named in it.
    PutInSet(KeyRecord),
    /// Remove a host's set, or one key of it; [`StoreError::NotFound`] if there is none.
    RemoveFromSet {
        /// The set.
        set: String,
        /// The key; `None` removes the whole set.
        kid: Option<String>,
    },
}

/// A rotation of one algorithm's keys.
#[derive(Debug, Clone)]
pub struct KeyRotation {
    /// The next key the caller saw; [`StoreError::Conflict`] if the store's differs (another
    /// instance rotated first), so a rotation never runs twice on one view.
    pub expected_next: Option<String>,
    /// `true`: the next key becomes active and the active one retires. `false`: the next
    /// key, which never signed, is replaced (e.g. by an imported key) or first created.
    pub promote: bool,
    /// The new next key (state `next`), of the rotated algorithm.
    pub new_next: KeyRecord,
    /// The instant of the change.
    pub now: OffsetDateTime,
}

impl KeyChange {
    /// Applies the change to `keys` (oldest first), or leaves them untouched and fails.
    /// The lifecycle changes see only the provider's own keys; the set changes only the
    /// host's sets.
    pub fn apply(&self, keys: &mut Vec<KeyRecord>) -> Result<(), StoreError> {
        match self {
            Self::Initial(initial) => {
                let missing: Vec<KeyRecord> = initial
                    .iter()
                    .filter(|candidate| {
                        !keys.iter().any(|k| {
                            k.is_signing_key()
                                && k.alg == candidate.alg
                                && k.state == KeyState::Active
                        })
                    })
                    .cloned()
                    .collect();
                for key in &missing {
                    if !key.is_signing_key() || find(keys, None, &key.kid).is_some() {
                        return Err(StoreError::Conflict);
                    }
                }
                keys.extend(missing);
            }
            Self::Rotate(rotation) => rotation.apply(keys)?,
            Self::RemoveRetiredBefore(before) => keys.retain(|k| {
                !k.is_signing_key()
                    || k.state != KeyState::Retired
                    || k.retired_at.is_none_or(|at| at >= *before)
            }),
            Self::AddToSet(key) | Self::PutInSet(key) => {
                if key.is_signing_key() {
                    return Err(StoreError::Conflict);
                }
                match find(keys, key.set.as_deref(), &key.kid) {
                    Some(_) if matches!(self, Self::AddToSet(_)) => {
                        return Err(StoreError::Conflict);
                    }
                    Some(i) => keys[i] = key.clone(),
                    None => keys.push(key.clone()),
                }
            }
            Self::Reseal(resealed) => {
                for record in resealed {
                    if let Some(i) = find(keys, record.set.as_deref(), &record.kid) {
                        keys[i].sealed_private_key = record.sealed_private_key.clone();
                    }
                }
            }
            Self::RemoveFromSet { set, kid } => {
                let before = keys.len();
                keys.retain(|k| {
                    k.set.as_deref() != Some(set.as_str())
                        || kid.as_ref().is_some_and(|kid| &k.kid != kid)
                });
                if keys.len() == before {
                    return Err(StoreError::NotFound);
                }
            }
            Self::RemoveRetired(kid) => {
                let key = find(keys, None, kid).ok_or(StoreError::NotFound)?;
                if keys[key].state != KeyState::Retired {
                    return Err(StoreError::Conflict);
                }
                keys.remove(key);
            }
        }
        Ok(())
    }
}

/// The position of key `kid` of `set` (`None`: the provider's own keys).
fn find(keys: &[KeyRecord], set: Option<&str>, kid: &str) -> Option<usize> {
    keys.iter()
        .position(|k| k.set.as_deref() == set && k.kid == kid)
}

impl KeyRotation {
    fn apply(&self, keys: &mut Vec<KeyRecord>) -> Result<(), StoreError> {
        let alg = self.new_next.alg;
        let next = keys
            .iter()
            .rposition(|k| k.is_signing_key() && k.alg == alg && k.state == KeyState::Next);
        let next_kid = next.map(|i| keys[i].kid.as_str());
        if next_kid != self.expected_next.as_deref()
            || find(keys, None, &self.new_next.kid).is_some()
            || self.new_next.state != KeyState::Next
            || !self.new_next.is_signing_key()
        {
            return Err(StoreError::Conflict);
        }
        match (next, self.promote) {
            (Some(next), true) => {
                for key in keys.iter_mut() {
                    if key.is_signing_key() && key.alg == alg && key.state == KeyState::Active {
                        key.state = KeyState::Retired;
                        key.retired_at = Some(self.now);
                    }
                }
                keys[next].state = KeyState::Active;
                keys[next].activated_at = Some(self.now);
            }
            (None, true) => return Err(StoreError::Conflict),
            (Some(next), false) => {
                keys.remove(next);
            }
            (None, false) => {}
        }
        keys.push(self.new_next.clone());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    fn key(kid: &str, alg: Algorithm, state: KeyState) -> KeyRecord {
        KeyRecord {
            kid: kid.into(),
            alg,
            sealed_private_key: vec![1],
            created_at: T0,
            state,
            activated_at: None,
            retired_at: None,
            set: None,
        }
    }

    fn states(keys: &[KeyRecord]) -> Vec<(&str, KeyState)> {
        keys.iter().map(|k| (k.kid.as_str(), k.state)).collect()
    }

    fn rotate(expected: Option<&str>, promote: bool, new: &str) -> KeyChange {
        KeyChange::Rotate(KeyRotation {
            expected_next: expected.map(Into::into),
            promote,
            new_next: key(new, Algorithm::ES256, KeyState::Next),
            now: T0,
        })
    }

    #[test]
    fn initial_keys_fill_only_algorithms_without_an_active_key() {
        let mut keys = vec![key("es", Algorithm::ES256, KeyState::Active)];
        KeyChange::Initial(vec![
            key("es2", Algorithm::ES256, KeyState::Active),
            key("ed", Algorithm::EdDSA, KeyState::Active),
            key("ed-next", Algorithm::EdDSA, KeyState::Next),
        ])
        .apply(&mut keys)
        .unwrap();
        assert_eq!(
            states(&keys),
            [
                ("es", KeyState::Active),
                ("ed", KeyState::Active),
                ("ed-next", KeyState::Next)
            ]
        );
    }

    #[test]
    fn rotation_promotes_next_retires_active_and_publishes_a_new_next() {
        let mut keys = vec![
            key("a", Algorithm::ES256, KeyState::Active),
            key("n", Algorithm::ES256, KeyState::Next),
            key("ed", Algorithm::EdDSA, KeyState::Active),
        ];
        rotate(Some("n"), true, "n2").apply(&mut keys).unwrap();
        assert_eq!(
            states(&keys),
            [
                ("a", KeyState::Retired),
                ("n", KeyState::Active),
                ("ed", KeyState::Active),
                ("n2", KeyState::Next)
            ]
        );
        assert_eq!(keys[0].retired_at, Some(T0));
        assert_eq!(keys[1].activated_at, Some(T0));

        // A second instance that saw the old next loses, and changes nothing.
        let before = keys.clone();
        assert!(matches!(
            rotate(Some("n"), true, "n3").apply(&mut keys),
            Err(StoreError::Conflict)
        ));
        assert_eq!(keys, before);
    }

    #[test]
    fn replacing_the_next_key_drops_it_without_retiring_anything() {
        let mut keys = vec![
            key("a", Algorithm::ES256, KeyState::Active),
            key("n", Algorithm::ES256, KeyState::Next),
        ];
        rotate(Some("n"), false, "imported")
            .apply(&mut keys)
            .unwrap();
        assert_eq!(
            states(&keys),
            [("a", KeyState::Active), ("imported", KeyState::Next)]
        );
        // Without a next key, promotion is refused; creating one is not.
        let mut legacy = vec![key("a", Algorithm::ES256, KeyState::Active)];
        assert!(matches!(
            rotate(None, true, "x").apply(&mut legacy),
            Err(StoreError::Conflict)
        ));
        rotate(None, false, "x").apply(&mut legacy).unwrap();
        assert_eq!(
            states(&legacy),
            [("a", KeyState::Active), ("x", KeyState::Next)]
        );
    }

    #[test]
    fn retired_keys_are_removed_only_after_their_time_or_one_by_one() {
        let mut old = key("old", Algorithm::ES256, KeyState::Retired);
        old.retired_at = Some(T0);
        let mut recent = key("recent", Algorithm::ES256, KeyState::Retired);
        recent.retired_at = Some(T0 + time::Duration::hours(1));
        let mut keys = vec![old, recent, key("a", Algorithm::ES256, KeyState::Active)];
        KeyChange::RemoveRetiredBefore(T0 + time::Duration::minutes(1))
            .apply(&mut keys)
            .unwrap();
        assert_eq!(
            states(&keys),
            [("recent", KeyState::Retired), ("a", KeyState::Active)]
        );
        assert!(matches!(
            KeyChange::RemoveRetired("a".into()).apply(&mut keys),
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            KeyChange::RemoveRetired("zz".into()).apply(&mut keys),
            Err(StoreError::NotFound)
        ));
        KeyChange::RemoveRetired("recent".into())
            .apply(&mut keys)
            .unwrap();
        assert_eq!(states(&keys), [("a", KeyState::Active)]);
    }

    #[test]
    fn records_stored_before_the_lifecycle_read_as_active() {
        let json = r#"{"kid":"k","alg":"ES256","sealed_private_key":[1],"created_at":"2026-01-01T00:00:00Z"}"#;
        let record: KeyRecord = serde_json::from_str(json).unwrap();
        assert_eq!(record.state, KeyState::Active);
        assert_eq!(record.retired_at, None);
    }

    #[test]
    fn host_sets_are_apart_from_the_signing_keys() {
        let in_set = |kid: &str| KeyRecord {
            set: Some("partner".into()),
            ..key(kid, Algorithm::ES256, KeyState::Active)
        };
        let mut keys = vec![key("a", Algorithm::ES256, KeyState::Active)];
        // The same kid may exist in a set and among the signing keys.
        KeyChange::AddToSet(in_set("a")).apply(&mut keys).unwrap();
        assert!(matches!(
            KeyChange::AddToSet(in_set("a")).apply(&mut keys),
            Err(StoreError::Conflict)
        ));
        KeyChange::PutInSet(in_set("a")).apply(&mut keys).unwrap();
        KeyChange::PutInSet(in_set("b")).apply(&mut keys).unwrap();
        assert_eq!(keys.len(), 3);
        // Lifecycle changes never touch a set's keys.
        rotate(None, false, "n").apply(&mut keys).unwrap();
        KeyChange::RemoveRetiredBefore(T0 + time::Duration::days(1))
            .apply(&mut keys)
            .unwrap();
        assert_eq!(keys.iter().filter(|k| !k.is_signing_key()).count(), 2);
        KeyChange::RemoveFromSet {
            set: "partner".into(),
            kid: Some("b".into()),
        }
        .apply(&mut keys)
        .unwrap();
        KeyChange::RemoveFromSet {
            set: "partner".into(),
            kid: None,
        }
        .apply(&mut keys)
        .unwrap();
        assert!(matches!(
            KeyChange::RemoveFromSet {
                set: "partner".into(),
                kid: None
            }
            .apply(&mut keys),
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            states(&keys),
            [("a", KeyState::Active), ("n", KeyState::Next)]
        );
    }
}
