//! Test support for hosts (feature `testing`): an in-process harness for driving flows and
//! the store conformance kit.

pub mod conformance;
