//! The OpenAPI document against the running server: schemathesis (PyPI)
//! generates requests for every documented operation as a signed-in admin
//! and checks that nothing answers 5xx and every answer matches the
//! document (status, content type, headers, schema).

use std::process::Command;

use crate::common::Server;
use crate::http_api::fixture;

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&fixture(dir.path()), &[]);
    let python = std::env::var("WANGGE_PYTHON").unwrap_or_else(|_| "python3".into());
    let bin = std::path::Path::new(&python).with_file_name("schemathesis");
    assert!(
        bin.exists(),
        "schemathesis is not installed next to {python}: run scripts/test (tests/requirements.txt)"
    );
    let config = crate::common::repo_root().join("tests/e2e/schemathesis.toml");
    let out = Command::new(&bin)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(server.url("/api/openapi.json"))
        .args(["-H", &format!("Authorization: Bearer {}", server.token)])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
        ])
        .args(["-n", "50", "--seed", "1", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("schemathesis runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("passed"), "{text}");
    // Every documented operation was exercised (schemathesis leaves out the
    // document's own route).
    let routes = wangge::api::route_specs().len() - 1;
    assert!(
        text.contains(&format!("Selected: {routes}/{routes}"))
            && text.contains(&format!("Tested: {routes}")),
        "not every operation was tested:\n{text}"
    );
}
