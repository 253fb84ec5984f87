//! The OpenAPI documents in `openapi/` against the router: every route of the route table
//! is documented with exactly the methods it answers, every documented path and method is
//! routed, every `$ref` resolves, and each documented operation, called bare (no parameters,
//! no body, no credentials), answers with a status and content type its document lists.
//! schemathesis (`tests/schemathesis/run.sh`, in CI) fuzzes the same documents over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use http::Method;
use oauth2_provider::internals::routes::{self, Api};
use serde_json::Value;

/// The HTTP methods an OpenAPI path item may hold as operations.
const OPERATIONS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document(api: Api) -> Value {
    let name = match api {
        Api::Public => "public",
        Api::Admin => "admin",
    };
    let path = format!("{}/openapi/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// Each documented path with the set of its methods, upper case.
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths is an object")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("a path item is an object")
                .keys()
                .filter(|k| OPERATIONS.contains(&k.as_str()))
                .map(|k| k.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

fn routed(api: Api, path: &str) -> Option<BTreeSet<String>> {
    routes::methods(api, path).map(|m| m.iter().map(|m| m.as_str().to_owned()).collect())
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    for api in [Api::Public, Api::Admin] {
        let doc = document(api);
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = documented(&doc);
        for template in routes::templates(api) {
            let Some(methods) = paths.get(*template) else {
                panic!("{api:?} route {template} is not documented");
            };
            assert_eq!(
                Some(methods),
                routed(api, template).as_ref(),
                "{api:?} {template}: documented methods differ from the routed ones"
            );
        }
        for (path, methods) in &paths {
            assert_eq!(
                routed(api, path).as_ref(),
                Some(methods),
                "{api:?} documents {path} {methods:?}, the router answers otherwise"
            );
            assert!(
                routes::templates(api).contains(&path.as_str()),
                "{api:?} documents {path}, which the route table does not list"
            );
        }
    }
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_operation_ids_are_unique() {
    for api in [Api::Public, Api::Admin] {
        let doc = document(api);
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let pointer = r.strip_prefix('#').expect("local references only");
            assert!(
                doc.pointer(pointer).is_some(),
                "{api:?}: {r} does not resolve"
            );
        }
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in OPERATIONS {
                if let Some(op) = item.get(*method) {
                    let id = op["operationId"].as_str().expect("an operationId");
                    assert!(ids.insert(id.to_owned()), "{path} {method}: {id} twice");
                }
            }
        }
    }
}

/// Follows a `{"$ref": "#/…"}` to what it names.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(&r[1..]).expect("resolves"),
        None => value,
    }
}

/// Calls every documented operation bare, with each path parameter `x`: the status must be
/// one the operation documents, with the documented content type (none for an empty body).
#[tokio::test]
async fn bare_calls_answer_as_documented() {
    let (p, _) = provider().await;
    for api in [Api::Public, Api::Admin] {
        let doc = document(api);
        for (path, item) in doc["paths"].as_object().unwrap() {
            let concrete = path
                .split('/')
                .map(|s| if s.starts_with('{') { "x" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            for method in OPERATIONS {
                let Some(op) = item.get(*method) else {
                    continue;
                };
                let req = empty_request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &concrete,
                );
                let res = match api {
                    Api::Public => p.public().handle(req).await,
                    Api::Admin => p.admin().handle(req).await,
                };
                let status = res.status().as_str().to_owned();
                let what = format!("{api:?} {method} {concrete} → {status}");
                let Some(documented) = op["responses"].get(&status) else {
                    panic!("{what}: status not documented");
                };
                let documented = resolve(&doc, documented);
                let content_type = res
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_owned());
                match (documented.get("content"), content_type) {
                    (None, None) => assert!(res.body().is_empty(), "{what}: a body"),
                    (Some(content), Some(ct)) => {
                        assert!(content.get(&ct).is_some(), "{what}: {ct} not documented")
                    }
                    (content, ct) => panic!("{what}: documented {content:?}, sent {ct:?}"),
                }
            }
        }
    }
}
