//! Helpers shared by the end-to-end suites.
#![allow(dead_code)]

use std::path::PathBuf;

/// The `wangge` binary cargo built for these tests.
pub fn wangge_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wangge"))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file of the shared real data (`../shared/data/real/NAME` beside the
/// repository, or under `$WANGGE_SHARED/data/real`). Panics with a clear
/// message when it is absent: CI always has it.
pub fn real_data(name: &str) -> PathBuf {
    let shared = std::env::var_os("WANGGE_SHARED")
        .map_or_else(|| repo_root().join("../shared"), PathBuf::from);
    let p = shared.join("data/real").join(name);
    assert!(
        p.exists(),
        "real data {} is missing (expected ../shared beside the repository)",
        p.display()
    );
    p
}

/// A running `wangge serve` on an ephemeral port, stopped when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    /// An admin token (scope `*`) made for the tests; `get_json` sends it.
    pub token: String,
}

/// Adds a user and returns an API token for them.
pub fn user_with_token(store: &std::path::Path, name: &str, role: &str, scope: &str) -> String {
    user_with_token_in(store.to_str().unwrap(), name, role, scope)
}

/// Like [`user_with_token`], on a store spec (a path or a `postgres://` URL).
pub fn user_with_token_in(s: &str, name: &str, role: &str, scope: &str) -> String {
    let (ok, out, err) = wangge(&[
        "user", "add", name, "--role", role, "--scope", scope, "--store", s,
    ]);
    assert!(ok, "user add: {out}{err}");
    let (ok, out, err) = wangge(&["token", "create", name, "--store", s]);
    assert!(ok, "token create: {out}{err}");
    out.lines().last().unwrap().trim().to_string()
}

impl Server {
    /// Starts the server on `store` and waits until `/health` answers 200.
    pub fn start(store: &std::path::Path, extra: &[&str]) -> Server {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "e2e-admin-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let token = user_with_token(store, &name, "admin", "*");
        let mut args = vec!["--store", store.to_str().unwrap()];
        args.extend_from_slice(extra);
        Self::start_with(&args, token)
    }

    /// Starts `wangge serve ARGS` (which name the store) with a token the
    /// caller made, and waits until `/health` answers 200.
    pub fn start_with(args: &[&str], token: String) -> Server {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new(wangge_bin())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("wangge serve starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("server printed its address before exiting")
                .expect("stdout is UTF-8");
            if let Some(url) = line.strip_prefix("wangge listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let s = Server { child, base, token };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(r) = ureq::get(&s.url("/health")).call() {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "server never became healthy"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        s
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET as the tests' admin, returning (status, body as JSON or Null,
    /// content type).
    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value, String) {
        self.get_as(path, Some(&self.token))
    }

    /// GET with a bearer token (or none).
    pub fn get_as(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value, String) {
        let (status, ctype, body) = self.get_bytes(path, token);
        let body = String::from_utf8(body).expect("UTF-8 body");
        (
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
            ctype,
        )
    }

    /// GET with a bearer token (or none): (status, content type, body bytes).
    pub fn get_bytes(&self, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
        self.get_with(path, token, &[], "content-type")
    }

    /// GET with a bearer token (or none) and extra request headers:
    /// (status, the response header `want` or "", body bytes).
    pub fn get_with(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        want: &str,
    ) -> (u16, String, Vec<u8>) {
        let mut req = ureq::get(&self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .expect("request sent");
        let status = resp.status().as_u16();
        let value = resp
            .headers()
            .get(want)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp.into_body().read_to_vec().expect("body read");
        (status, value, body)
    }
}

impl Server {
    /// The `Authorization` value of the tests' admin.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// POST a JSON `body` with a bearer token (or none) and extra request
    /// headers: (status, the response header `want` or "", body as text).
    pub fn post_with(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
        want: &str,
    ) -> (u16, String, String) {
        let mut req = ureq::post(&self.url(path)).header("Content-Type", "application/json");
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req
            .config()
            .http_status_as_error(false)
            .build()
            .send(body)
            .expect("request sent");
        let status = resp.status().as_u16();
        let value = resp
            .headers()
            .get(want)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.into_body().read_to_string().unwrap_or_default();
        (status, value, text)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `wangge ARGS...`, returning (success, stdout, stderr).
pub fn wangge(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(wangge_bin())
        .args(args)
        .output()
        .expect("wangge runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A store `name` in `dir` with each `(file, text, layer)` written to
/// `dir/file` and imported as `layer` (WGS-84).
pub fn imported(dir: &std::path::Path, name: &str, files: &[(&str, &str, &str)]) -> PathBuf {
    let store = dir.join(name);
    let s = store.to_str().unwrap();
    for (file, text, layer) in files {
        let f = dir.join(file);
        std::fs::write(&f, text).unwrap();
        let (ok, out, err) = wangge(&[
            "import",
            layer,
            f.to_str().unwrap(),
            "--store",
            s,
            "--crs",
            "wgs84",
        ]);
        assert!(ok, "{file}: {out}{err}");
    }
    store
}

/// `dir/city.gpkg`, a city of `households` made by
/// `wangge generate --seed SEED`.
pub fn generated(dir: &std::path::Path, households: &str, seed: &str) -> PathBuf {
    let store = dir.join("city.gpkg");
    let (ok, out, err) = wangge(&[
        "generate",
        "--households",
        households,
        "--seed",
        seed,
        "--out",
        store.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    store
}

/// A city of `households` made by `wangge generate --seed SEED` and
/// partitioned (seed 1), in a temporary folder that lives as long as the
/// returned guard.
pub fn partitioned_city(households: u32, seed: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("city.gpkg");
    let s = store.to_str().unwrap();
    let (n, seed) = (households.to_string(), seed.to_string());
    let (ok, out, err) = wangge(&["generate", "--households", &n, "--seed", &seed, "--out", s]);
    assert!(ok, "generate: {out}{err}");
    let (ok, out, err) = wangge(&["partition", "--store", s, "--seed", "1"]);
    assert!(ok, "partition: {out}{err}");
    (dir, store)
}
