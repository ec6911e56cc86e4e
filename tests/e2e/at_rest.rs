//! Personal fields at rest, end to end with the real binary: a city
//! generated and imported with known names and phones leaves none of them
//! in clear in the GeoPackage file or in a `pg_dump` of its PostGIS copy;
//! the server on either store still shows them to an office user; a wrong
//! key is refused with both key ids and changes nothing; a key rotation
//! moves a store to the new key with its data and phone lookup intact; and
//! `wangge copy` GeoPackage → PostGIS → GeoPackage keeps values sealed.
//! The PostGIS test needs PostgreSQL with PostGIS at `DATABASE_URL` (default:
//! the local test server) and `pg_dump`, like tests/e2e/postgis.rs.

use std::collections::HashSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wangge::domain::Dataset;
use wangge::sealing::{normalise_phone, Key, Sealer};
use wangge::store::{self, Store};

use crate::common::{wangge, Server};

/// Names and phones imported on top of the generated city: unusual enough
/// that nothing else in a store contains them by chance.
const KNOWN_HOUSEHOLDS: [(i64, &str, &str); 2] = [
    (900_001, "欧阳明月", "13512340001"),
    (900_002, "司马长风", "+86 135-1234-0002"),
];
const KNOWN_PERSON: (i64, &str, &str) = (900_003, "慕容秋水", "13512340003");

fn run(args: &[&str]) -> String {
    let (ok, out, err) = wangge(args);
    assert!(ok, "wangge {args:?}: {out}{err}");
    out
}

fn new_key(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let out = run(&["key", "new", "--out", p.to_str().unwrap()]);
    assert!(out.contains("wrote key"), "{out}");
    p
}

fn sealer(key: &Path) -> Arc<Sealer> {
    Arc::new(Sealer::new(&Key::read(key).unwrap()))
}

fn id_of(key: &Path) -> String {
    Key::read(key).unwrap().id().to_string()
}

/// A generated city with the known households and person imported into
/// it (at a generated household's place), sealed with `key`.
fn city(dir: &Path, key: &Path) -> PathBuf {
    let store = dir.join("city.gpkg");
    let (spec, k) = (store.to_str().unwrap(), key.to_str().unwrap());
    run(&[
        "generate",
        "--households",
        "1500",
        "--seed",
        "5",
        "--out",
        spec,
        "--key-file",
        k,
    ]);
    let data = store::gpkg::GeoPackage::open_with(&store, sealer(key))
        .unwrap()
        .load()
        .unwrap();
    let at = data.households[0].location;
    let (lon, lat) = (at.x(), at.y());
    let mut csv = String::from("id,lon,lat,size,care,address,name,phone\n");
    for (id, name, phone) in KNOWN_HOUSEHOLDS {
        let _ = writeln!(
            csv,
            "{id},{lon},{lat},3,连心户,{name}家门口1号,{name},{phone}"
        );
    }
    let (id, name, phone) = KNOWN_PERSON;
    let people = format!(
        "id,name,phone,lon,lat,roles,team,skills,available,reserve\n\
         {id},{name},{phone},{lon},{lat},volunteer,,,1,1\n"
    );
    std::fs::write(dir.join("known.csv"), csv).unwrap();
    std::fs::write(dir.join("people.csv"), people).unwrap();
    for (layer, file) in [("households", "known.csv"), ("people", "people.csv")] {
        let f = dir.join(file);
        run(&[
            "import",
            layer,
            f.to_str().unwrap(),
            "--store",
            spec,
            "--crs",
            "wgs84",
            "--key-file",
            k,
        ]);
    }
    store
}

/// Every phone of the dataset, as digits (without +86).
fn phones(d: &Dataset) -> HashSet<String> {
    d.households
        .iter()
        .map(|h| h.phone.as_str())
        .chain(d.people.iter().map(|p| p.phone.as_str()))
        .filter_map(normalise_phone)
        .filter(|p| p.len() >= 7)
        .collect()
}

/// Fails if `bytes` hold any of `phones` (as a run of digits, alone or
/// inside a longer run) or any of the known names.
fn assert_nothing_in_clear(bytes: &[u8], phones: &HashSet<String>, what: &str) {
    assert!(phones.len() > 1000, "the city has phones to look for");
    let mut run = String::new();
    for &b in bytes.iter().chain(std::iter::once(&b' ')) {
        if b.is_ascii_digit() {
            run.push(b as char);
            continue;
        }
        if run.len() >= 7 {
            for p in phones {
                assert!(!run.contains(p.as_str()), "{what} holds phone {p} in clear");
            }
        }
        run.clear();
    }
    let names = KNOWN_HOUSEHOLDS
        .iter()
        .map(|(_, n, _)| *n)
        .chain([KNOWN_PERSON.1, "家门口1号"]);
    for n in names {
        let needle = n.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{what} holds {n} in clear"
        );
    }
}

/// The cells of personal columns read with SQLite itself: all sealed.
fn assert_cells_sealed(store: &Path) {
    let c = rusqlite::Connection::open(store).unwrap();
    for (table, cols) in [
        ("households", "head_name, phone, address, flags"),
        ("people", "name, phone"),
    ] {
        let mut st = c.prepare(&format!("SELECT {cols} FROM {table}")).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        let mut seen = 0;
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                let v: String = r.get(i).unwrap();
                assert!(v.starts_with("v1:"), "{table} column {i}: {v}");
            }
            seen += 1;
        }
        assert!(seen > 0, "{table} has rows");
    }
}

/// An office user's token on a store, made with `key`.
fn office_token(spec: &str, key: &Path) -> String {
    let k = key.to_str().unwrap();
    let name = format!("office-{}", std::process::id());
    run(&[
        "user",
        "add",
        &name,
        "--role",
        "office",
        "--scope",
        "*",
        "--store",
        spec,
        "--key-file",
        k,
    ]);
    let out = run(&["token", "create", &name, "--store", spec, "--key-file", k]);
    out.lines().last().unwrap().trim().to_string()
}

/// The server on `spec` shows an office user the known household's full
/// phone and name: decryption works end to end.
fn assert_server_shows_phones(source: &[&str], spec: &str, key: &Path) {
    let token = office_token(spec, key);
    let mut args = source.to_vec();
    args.extend(["--key-file", key.to_str().unwrap()]);
    let server = Server::start_with(&args, token.clone());
    let (id, name, phone) = KNOWN_HOUSEHOLDS[1];
    let (status, v, _) = server.get_as(&format!("/api/layers/households/{id}"), Some(&token));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["properties"]["phone"], phone, "{v}");
    assert_eq!(v["properties"]["head_name"], name, "{v}");
}

#[test]
fn a_geopackage_holds_no_phone_or_name_in_clear_and_the_server_still_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "key");
    let store = city(dir.path(), &key);
    let s = store.to_str().unwrap();
    let d = store::gpkg::GeoPackage::open_with(&store, sealer(&key))
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(d.households.len(), 1502);
    let all = phones(&d);
    assert!(all.contains("13512340001") && all.contains("13512340002"));
    assert_nothing_in_clear(&std::fs::read(&store).unwrap(), &all, "the GeoPackage");
    assert_cells_sealed(&store);
    let info = run(&["info", "--store", s, "--key-file", key.to_str().unwrap()]);
    assert!(info.contains(&format!("key {}", id_of(&key))), "{info}");

    // A wrong key: a clear error naming both ids, and not a byte changes.
    let wrong = new_key(dir.path(), "wrong");
    let before = std::fs::read(&store).unwrap();
    for cmd in [
        vec!["info", "--store", s],
        vec!["serve", "--store", s, "--listen", "127.0.0.1:0"],
        vec!["user", "list", "--store", s],
    ] {
        let mut args = cmd.clone();
        args.extend(["--key-file", wrong.to_str().unwrap()]);
        let (ok, out, err) = wangge(&args);
        assert!(!ok, "{cmd:?} with a wrong key: {out}");
        assert!(
            err.contains(&id_of(&key)) && err.contains(&id_of(&wrong)) && err.contains("key"),
            "{cmd:?}: {err}"
        );
        assert!(err.contains("nothing was changed"), "{err}");
    }
    assert!(
        std::fs::read(&store).unwrap() == before,
        "the file is unchanged"
    );

    assert_server_shows_phones(&["--store", s], s, &key);
}

#[test]
fn a_key_rotation_moves_a_geopackage_to_the_new_key_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let old = new_key(dir.path(), "old");
    let store = city(dir.path(), &old);
    let s = store.to_str().unwrap();
    let before = store::gpkg::GeoPackage::open_with(&store, sealer(&old))
        .unwrap()
        .load()
        .unwrap();
    let new = new_key(dir.path(), "new");
    let (o, n) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = run(&[
        "key",
        "rotate",
        "--store",
        s,
        "--key-file",
        o,
        "--new-key-file",
        n,
    ]);
    assert!(
        out.contains("re-encrypted 1") && out.contains(&id_of(&new)),
        "{out}"
    );
    let (ok, _, err) = wangge(&["info", "--store", s, "--key-file", o]);
    assert!(
        !ok && err.contains(&id_of(&new)),
        "the old key is refused: {err}"
    );
    run(&["info", "--store", s, "--key-file", n]);
    let g = store::gpkg::GeoPackage::open_with(&store, sealer(&new)).unwrap();
    assert_eq!(g.load().unwrap(), before, "the same data under the new key");
    let found = g.households_by_phone("13512340002").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].head_name, "司马长风");
    drop(g);
    assert_nothing_in_clear(
        &std::fs::read(&store).unwrap(),
        &phones(&before),
        "the rotated GeoPackage",
    );
    let out = run(&["key", "id", "--store", s, "--key-file", n]);
    assert!(
        out.contains(&format!("sealed with key {}", id_of(&new))),
        "{out}"
    );
    // The rotation is audited; rotating to the same key is refused.
    let audit = run(&["audit", "--store", s, "--key-file", n]);
    assert!(audit.contains("key rotate"), "{audit}");
    let (ok, _, err) = wangge(&[
        "key",
        "rotate",
        "--store",
        s,
        "--key-file",
        n,
        "--new-key-file",
        n,
    ]);
    assert!(!ok && err.contains("already"), "{err}");
}

fn base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[test]
fn postgis_dumps_hold_no_phone_in_clear_and_copies_and_rotation_keep_values_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "key");
    let key_a = key.to_str().unwrap();
    let source = city(dir.path(), &key);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let schema = format!("e2e_rest_{}_{nanos}", std::process::id());
    let base = base_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}schema={schema}");
    run(&[
        "copy",
        "--from",
        source.to_str().unwrap(),
        "--to",
        &url,
        "--quiet",
        "--key-file",
        key_a,
    ]);
    let before = store::open_with(&url, sealer(&key))
        .unwrap()
        .load()
        .unwrap();
    let all = phones(&before);

    // A real dump of the schema, as a backup would be made.
    let dump = std::process::Command::new("pg_dump")
        .args([
            "--dbname",
            base.split('?').next().unwrap(),
            "--schema",
            &schema,
        ])
        .output()
        .expect("pg_dump runs (PostgreSQL's client tools are installed)");
    assert!(
        dump.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        text.contains("COPY") && text.contains("\tv1:"),
        "the dump holds the sealed values"
    );
    assert_nothing_in_clear(&dump.stdout, &all, "pg_dump");

    assert_server_shows_phones(&["--database", &url], &url, &key);

    // Rotation on PostGIS: the old key is refused, the new one reads it all.
    let new = new_key(dir.path(), "new");
    let key_b = new.to_str().unwrap();
    run(&[
        "key",
        "rotate",
        "--store",
        &url,
        "--key-file",
        key_a,
        "--new-key-file",
        key_b,
    ]);
    let (ok, _, err) = wangge(&["info", "--store", &url, "--key-file", key_a]);
    assert!(
        !ok && err.contains(&id_of(&new)) && err.contains(&id_of(&key)),
        "{err}"
    );
    let pg = store::open_with(&url, sealer(&new)).unwrap();
    let mut rotated = pg.load().unwrap();
    assert_eq!(rotated.households, before.households);
    assert_eq!(rotated.people, before.people);
    let found = pg.households_by_phone("+8613512340001").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].head_name, "欧阳明月");

    // And back into a new GeoPackage, sealed with the database's key.
    let back_file = dir.path().join("back.gpkg");
    run(&[
        "copy",
        "--from",
        &url,
        "--to",
        back_file.to_str().unwrap(),
        "--quiet",
        "--key-file",
        key_b,
    ]);
    assert_nothing_in_clear(&std::fs::read(&back_file).unwrap(), &all, "the copy back");
    assert_cells_sealed(&back_file);
    let back = store::gpkg::GeoPackage::open_with(&back_file, sealer(&new)).unwrap();
    let mut copied = back.load().unwrap();
    copied.plans.clear();
    rotated.plans.clear();
    assert_eq!(copied, rotated);
    assert_eq!(back.households_by_phone("13512340001").unwrap().len(), 1);
    drop(back);
    let e = store::gpkg::GeoPackage::open_with(&back_file, sealer(&key))
        .err()
        .unwrap();
    assert!(e.to_string().contains(&id_of(&new)), "{e}");
}
