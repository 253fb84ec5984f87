//! What the property tests (`robustness.rs`, `robustness_api.rs`) share: a bounded proptest
//! configuration, one provider on a runtime that every case reuses, and the one assertion
//! they all make of an answer.

use bytes::Bytes;
use http::Response;
use oauth2_provider::testing::Harness;
use proptest::test_runner::Config;

/// `cases` cases, no failure files written into the source tree.
pub fn cases(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A current-thread runtime and, built on it, [`super::flow::harness`] (the client `app`):
/// the cases of one property run against one provider, so that what one case stored is there
/// for the next.
pub fn harness_on_runtime() -> (tokio::runtime::Runtime, Harness) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = rt.block_on(super::flow::harness());
    (rt, h)
}

/// The provider answered without a server error.
pub fn assert_not_5xx(res: &Response<Bytes>, what: &str) {
    assert!(
        res.status().as_u16() < 500,
        "{what}: {} {}",
        res.status(),
        String::from_utf8_lossy(res.body())
    );
}
