//! `wangge serve --tls-cert --tls-key`: HTTPS with a certificate made here
//! by openssl, checked by curl against that certificate; session cookies
//! carry `Secure`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::common::wangge_bin;
use crate::http_api::fixture;

#[test]
fn https_with_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(ok.success());
    let mut add = Command::new(wangge_bin())
        .args([
            "user",
            "add",
            "tls",
            "--role",
            "viewer",
            "--scope",
            "110101",
            "--password-stdin",
            "--store",
        ])
        .arg(&store)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    assert!(add.wait().unwrap().success());

    let mut child = Command::new(wangge_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--store"])
        .arg(&store)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if let Some(u) = line.strip_prefix("wangge listening on ") {
            break u.trim().to_string();
        }
    };
    assert!(base.starts_with("https://"), "{base}");
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "-i", "--cacert"])
            .arg(&cert)
            .args(args)
            .output()
            .expect("curl is installed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut health = String::new();
    for _ in 0..100 {
        health = curl(&[&format!("{base}/health")]);
        if health.starts_with("HTTP/") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        health.starts_with("HTTP/1.1 200") || health.starts_with("HTTP/2 200"),
        "{health}"
    );
    // HSTS on every answer under TLS, errors included.
    let missing = curl(&["-X", "TRACE", &format!("{base}/health")]);
    for answer in [&health, &missing] {
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("strict-transport-security: max-age=31536000"),
            "{answer}"
        );
    }
    let login = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"name":"tls","password":"a long enough password"}"#,
        &format!("{base}/api/login"),
    ]);
    let cookie = login
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_default();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{login}"
    );
    // Plain HTTP to the TLS port is refused.
    let plain = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(base.replace("https", "http") + "/health")
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");
    let _ = child.kill();
    let _ = child.wait();
}
