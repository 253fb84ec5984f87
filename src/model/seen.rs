//! Telling the first of each string from its repeats, for lists an unauthenticated request
//! chooses (scopes, parameter names).

use std::collections::HashSet;

/// How many strings [`Seen`] compares one by one before it hashes: requests carry a handful
/// of scopes or parameters, and a set would cost an allocation for each of them.
const INLINE: usize = 8;

/// The strings seen so far: up to [`INLINE`] in an array, compared one by one; past that, all
/// of them in a hash set, so that thousands still cost linear time.
#[derive(Debug)]
pub(crate) struct Seen<'a> {
    first: [&'a str; INLINE],
    len: usize,
    all: Option<HashSet<&'a str>>,
    /// How many strings the caller expects at most: the set is sized for them once needed.
    expected: usize,
}

impl<'a> Seen<'a> {
    /// For up to about `expected` strings (more are fine, but grow the set).
    pub(crate) fn new(expected: usize) -> Self {
        Self {
            first: [""; INLINE],
            len: 0,
            all: None,
            expected,
        }
    }

    /// Remembers `item`; whether it was new.
    pub(crate) fn insert(&mut self, item: &'a str) -> bool {
        if let Some(all) = &mut self.all {
            return all.insert(item);
        }
        if self.first[..self.len].contains(&item) {
            return false;
        }
        if self.len < INLINE {
            self.first[self.len] = item;
            self.len += 1;
            return true;
        }
        let mut all = HashSet::with_capacity(self.expected.max(2 * INLINE));
        all.extend(self.first);
        all.insert(item);
        self.all = Some(all);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_of_each_is_new_however_many_there_are() {
        let items: Vec<String> = (0..100).map(|i| format!("s{}", i % 40)).collect();
        let mut seen = Seen::new(10);
        let new: Vec<bool> = items.iter().map(|s| seen.insert(s)).collect();
        assert_eq!(new.iter().filter(|n| **n).count(), 40);
        assert!(new[..40].iter().all(|n| *n));
        assert!(new[40..].iter().all(|n| !*n));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Inline or spilled, whatever it expected: each item is new exactly when a set of
        /// them says so.
        #[test]
        fn seen_answers_as_a_set_does(
            items in proptest::collection::vec("[a-d]{0,2}", 0..40),
            expected in 0usize..50
        ) {
            let mut seen = Seen::new(expected);
            let mut set = HashSet::new();
            for item in &items {
                prop_assert_eq!(seen.insert(item), set.insert(item.as_str()), "{:?}", item);
            }
        }
    }
}
