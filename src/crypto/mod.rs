//! Low-level cryptography shared by every layer: random ids and bytes, hex, keyed digests
//! (one HMAC-SHA256 helper, purpose-bound key derivation) and sealing private keys at rest.
//!
//! Nothing here knows about OAuth, HTTP or the store; it imports nothing from the crate.

pub(crate) mod sealing;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// A fresh random identifier: 128 bits as 32 lowercase hex characters.
pub(crate) fn random_id() -> String {
    hex(&random_bytes::<16>())
}

/// `N` bytes from the thread-local CSPRNG (ChaCha, seeded and reseeded from the OS).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::Rng;
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Lowercase hex encoding.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    out.extend(bytes.iter().flat_map(|&b| hex_pair(b)));
    String::from_utf8(out).unwrap_or_else(|_| unreachable!("hex digits are ASCII"))
}

/// Writes the lowercase hex of `bytes` into `out`, which is twice as long.
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&hex_pair(b));
    }
}

/// The lowercase hex digits, by value.
const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The two lowercase hex digits of `b`.
pub(crate) fn hex_pair(b: u8) -> [u8; 2] {
    [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]]
}

/// The value of each lowercase hex digit, and [`NOT_HEX`] for every other byte.
const NIBBLES: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        table[DIGITS[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

/// Marks a byte that is no lowercase hex digit: its high bits are set, a digit's never are.
const NOT_HEX: u8 = 0xff;

/// The `N` bytes of a `2 N`-character lowercase hex string; `None` for any other text.
/// Uppercase is refused, so that two spellings never decode alike where bytes key a table
/// (the memory store's digests and grant ids). Decodes without a branch per digit (a table
/// lookup each): every token request decodes two of these.
pub(crate) fn unhex_lower<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    let mut seen = 0u8;
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (high, low) = (NIBBLES[usize::from(pair[0])], NIBBLES[usize::from(pair[1])]);
        seen |= high | low;
        *byte = high << 4 | low;
    }
    (seen & 0xf0 == 0).then_some(out)
}

/// Decodes lowercase or uppercase hex; `None` on any other character or odd length.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Lowercase hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&sha256(data))
}

/// [`sha256_hex`] on the stack, for comparing with a stored digest without allocating.
pub(crate) fn sha256_hex_array(data: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    hex_into(&sha256(data), &mut out);
    out
}

/// HMAC-SHA256 under `key` of the concatenated `parts`. Callers that feed several
/// variable-length parts separate or length-prefix them, so that no two inputs collide.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// A purpose-bound key derived from the system secret (HMAC-SHA256 of the label).
pub(crate) fn derive_key(secret: &[u8], label: &[u8]) -> [u8; 32] {
    hmac_sha256(secret, &[label])
}

/// Whether `a` and `b` are equal, in time independent of where they differ (lengths are not
/// secret). The differences are folded into one byte that only `subtle` then compares: a
/// barrier per byte, as `subtle`'s slice comparison has, cost a client-secret check more than
/// its SHA-256.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    bool::from(difference.ct_eq(&0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00ABff"), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(random_id().len(), 32);
        assert_ne!(random_id(), random_id());
    }

    #[test]
    fn constant_time_eq_sees_every_byte_and_the_length() {
        let digest = sha256_hex(b"secret");
        assert!(constant_time_eq(digest.as_bytes(), digest.as_bytes()));
        assert!(constant_time_eq(b"", b""));
        for at in 0..digest.len() {
            let mut other = digest.clone().into_bytes();
            other[at] ^= 0x01;
            assert!(!constant_time_eq(digest.as_bytes(), &other), "byte {at}");
        }
        assert!(!constant_time_eq(
            &digest.as_bytes()[..63],
            digest.as_bytes()
        ));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
