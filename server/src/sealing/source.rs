//! Where a command's key comes from, decided in one place for every
//! command: `--key-file FILE`, else `WANGGE_KEY_FILE`, else `WANGGE_KEY`
//! (the key itself, base64 or hex), else the default key file
//! `$XDG_CONFIG_HOME/wangge/key` (or `~/.config/wangge/key`), created with
//! mode 0600 on first use so that a fresh machine works with no setup.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::key::{Key, KeyError};
use super::Sealer;

pub const ENV_KEY: &str = "WANGGE_KEY";
pub const ENV_KEY_FILE: &str = "WANGGE_KEY_FILE";

/// Where a key was found, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--key-file` or `WANGGE_KEY_FILE`.
    File(PathBuf),
    /// `WANGGE_KEY`.
    Env,
    /// The default key file; `created` when this run made it.
    Default { path: PathBuf, created: bool },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "key file {}", p.display()),
            Self::Env => write!(f, "{ENV_KEY}"),
            Self::Default { path, created } => write!(
                f,
                "default key file {}{}",
                path.display(),
                if *created { " (created now)" } else { "" }
            ),
        }
    }
}

/// The environment a key is looked up in; a parameter so tests need not
/// change the process's own environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

/// Finds the key: `flag` (`--key-file`), then the environment, then the
/// default file (created when missing).
pub fn resolve(flag: Option<&Path>, env: &dyn Env) -> Result<(Key, Origin), KeyError> {
    if let Some(p) = flag {
        return Ok((Key::read(p)?, Origin::File(p.to_path_buf())));
    }
    match (env.var(ENV_KEY_FILE), env.var(ENV_KEY)) {
        (Some(_), Some(_)) => Err(KeyError::Setup(format!(
            "both {ENV_KEY_FILE} and {ENV_KEY} are set; unset one (or give --key-file)"
        ))),
        (Some(p), None) => {
            let p = PathBuf::from(p);
            Ok((Key::read(&p)?, Origin::File(p)))
        }
        (None, Some(text)) => Ok((Key::parse(&text, ENV_KEY)?, Origin::Env)),
        (None, None) => {
            let path = default_path(env).ok_or_else(|| {
                KeyError::Setup(format!(
                    "no key: give --key-file, {ENV_KEY_FILE} or {ENV_KEY} \
                     (neither HOME nor XDG_CONFIG_HOME is set for the default key file)"
                ))
            })?;
            let (key, created) = read_or_create(&path)?;
            Ok((key, Origin::Default { path, created }))
        }
    }
}

/// `$XDG_CONFIG_HOME/wangge/key`, else `$HOME/.config/wangge/key`.
pub fn default_path(env: &dyn Env) -> Option<PathBuf> {
    env.var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env.var("HOME").map(|h| Path::new(&h).join(".config")))
        .map(|c| c.join("wangge").join("key"))
}

/// Reads the key at `path`, or makes one there. Several processes may
/// start at once on a fresh machine: the key is written to a private
/// temporary file and linked into place, which fails if another process
/// won, and then that one's key is read. A reader never sees half a key.
fn read_or_create(path: &Path) -> Result<(Key, bool), KeyError> {
    if path.exists() {
        return Ok((Key::read(path)?, false));
    }
    let dir = path.parent().expect("the default path has a folder");
    let file_err = |reason: String| KeyError::File {
        path: path.display().to_string(),
        reason,
    };
    create_private_dir(dir).map_err(|e| file_err(format!("creating its folder: {e}")))?;
    // Unique per attempt (threads of one process race too).
    let tmp = dir.join(format!(
        ".key.{}.{}.tmp",
        std::process::id(),
        Key::generate()?.id()
    ));
    let key = Key::generate()?;
    key.write_new(&tmp)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            announce(&format!(
                "created a new encryption key for personal data at {} (id {}); back it up \
                 apart from the data: without it, stores written with it cannot be read",
                path.display(),
                key.id()
            ));
            Ok((key, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok((Key::read(path)?, false)),
        Err(e) => Err(file_err(e.to_string())),
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// A message about keys that must be seen: to the log when there is one
/// (the server), else to standard error.
pub(crate) fn announce(msg: &str) {
    if tracing::dispatcher::has_been_set() {
        tracing::warn!("{msg}");
    } else {
        eprintln!("wangge: {msg}");
    }
}

/// `--key-file` as the command line gave it, set once before any store opens.
static FLAG: OnceLock<Option<PathBuf>> = OnceLock::new();
/// The process's sealer, resolved on first use (commands that never touch
/// a store never create a key).
static PROCESS: OnceLock<Result<Arc<Sealer>, String>> = OnceLock::new();

/// Records `--key-file` for [`process_sealer`]; later calls are ignored.
pub fn configure(key_file: Option<PathBuf>) {
    let _ = FLAG.set(key_file);
}

/// The sealer every store opened by this process uses unless given one:
/// the key found by [`resolve`] (with `--key-file` from [`configure`]).
pub fn process_sealer() -> Result<Arc<Sealer>, KeyError> {
    PROCESS
        .get_or_init(|| {
            let flag = FLAG.get().and_then(Option::as_deref);
            resolve(flag, &ProcessEnv)
                .map(|(key, origin)| {
                    tracing::debug!(key = %key.id(), %origin, "encryption key");
                    Arc::new(Sealer::new(&key))
                })
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(KeyError::Setup)
}

/// The process's key with where it came from (for `wangge key id`).
pub fn process_key() -> Result<(Key, Origin), KeyError> {
    resolve(FLAG.get().and_then(Option::as_deref), &ProcessEnv)
}

#[cfg(test)]
mod test {
    use std::collections::HashMap;

    use super::*;

    struct Vars(HashMap<&'static str, String>);

    impl Env for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    fn vars(v: &[(&'static str, &str)]) -> Vars {
        Vars(v.iter().map(|(k, v)| (*k, (*v).to_string())).collect())
    }

    #[test]
    fn the_default_key_is_created_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let env = vars(&[("XDG_CONFIG_HOME", dir.path().to_str().unwrap())]);
        let (a, oa) = resolve(None, &env).unwrap();
        let path = dir.path().join("wangge/key");
        assert_eq!(
            oa,
            Origin::Default {
                path: path.clone(),
                created: true
            }
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (b, ob) = resolve(None, &env).unwrap();
        assert_eq!(a.id(), b.id());
        assert!(matches!(ob, Origin::Default { created: false, .. }));
    }

    #[test]
    fn racing_first_uses_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap().to_string();
        let ids: Vec<_> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    let home = home.clone();
                    s.spawn(move || {
                        let env = vars(&[("HOME", &home)]);
                        resolve(None, &env).unwrap().0.id()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
        assert!(dir.path().join(".config/wangge/key").exists());
    }

    #[test]
    fn flag_then_file_variable_then_key_variable() {
        let dir = tempfile::tempdir().unwrap();
        let (f1, f2) = (dir.path().join("one"), dir.path().join("two"));
        let (k1, k2, k3) = (
            Key::generate().unwrap(),
            Key::generate().unwrap(),
            Key::generate().unwrap(),
        );
        k1.write_new(&f1).unwrap();
        k2.write_new(&f2).unwrap();
        let env = vars(&[(ENV_KEY_FILE, f2.to_str().unwrap())]);
        assert_eq!(resolve(Some(&f1), &env).unwrap().0.id(), k1.id());
        assert_eq!(resolve(None, &env).unwrap().0.id(), k2.id());
        let env = vars(&[(ENV_KEY, k3.to_text().trim())]);
        let (k, o) = resolve(None, &env).unwrap();
        assert_eq!((k.id(), o), (k3.id(), Origin::Env));
        let both = vars(&[(ENV_KEY, "x"), (ENV_KEY_FILE, "y")]);
        let e = resolve(None, &both).unwrap_err().to_string();
        assert!(e.contains("both"), "{e}");
        let e = resolve(None, &vars(&[])).unwrap_err().to_string();
        assert!(e.contains("--key-file"), "{e}");
        let missing = dir.path().join("missing");
        let e = resolve(Some(&missing), &vars(&[])).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
