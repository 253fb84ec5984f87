//! Telling the first of each string from its repeats, for lists an unauthenticated request
//! chooses (scopes, parameter names).

use std::collections::HashSet;

/// How many strings [`Seen`] compares one by one before it hashes: requests carry a handful
/// of scopes or parameters, and a set would cost an allocation for each of them.
const INLINE: usize = 8;

/// The strings seen so far. The first [`INLINE`] are compared with each new one; the rest go
/// into a hash set, so that thousands of them still cost linear time.
#[derive(Debug, Default)]
pub(crate) struct Seen<'a> {
    first: [&'a str; INLINE],
    len: usize,
    rest: Option<HashSet<&'a str>>,
}

impl<'a> Seen<'a> {
    /// Remembers `item`; whether it was new.
    pub(crate) fn insert(&mut self, item: &'a str) -> bool {
        if self.first[..self.len].contains(&item) {
            return false;
        }
        if self.len < INLINE {
            self.first[self.len] = item;
            self.len += 1;
            return true;
        }
        self.rest.get_or_insert_with(HashSet::new).insert(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_of_each_is_new_however_many_there_are() {
        let items: Vec<String> = (0..100).map(|i| format!("s{}", i % 40)).collect();
        let mut seen = Seen::default();
        let new: Vec<bool> = items.iter().map(|s| seen.insert(s)).collect();
        assert_eq!(new.iter().filter(|n| **n).count(), 40);
        assert!(new[..40].iter().all(|n| *n));
        assert!(new[40..].iter().all(|n| !*n));
    }
}
