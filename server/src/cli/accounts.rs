//! `wangge user` and `wangge token`: accounts and API tokens, administered on the server's own machine. Every change is audited
//! as done by `cli`.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;

use crate::access::account::{AuditEntry, Token, User};
use crate::access::secret::{generate_password, hash_password, new_secret, secret_digest};
use crate::access::Role;
use crate::api::auth::timestamp;
use crate::store::Backend;

#[derive(Debug, clap::Args)]
pub struct UserArgs {
    /// A GeoPackage file or a `postgres://` URL.
    #[arg(long, env = "WANGGE_STORE", global = true)]
    pub store: Option<String>,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user; without --password-stdin a password is generated and
    /// printed once.
    Add {
        name: String,
        /// admin, planner, office, emergency or viewer.
        #[arg(long)]
        role: String,
        /// Region-code prefixes the user sees, comma separated; `*` = all.
        #[arg(long)]
        scope: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (generated unless --password-stdin); ends nothing
    /// else, so also revoke tokens if the account was compromised.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: their sessions and tokens stop working within 2 s
    /// (the server's credential cache).
    Disable { name: String },
    /// List users.
    List,
}

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// A GeoPackage file or a `postgres://` URL.
    #[arg(long, env = "WANGGE_STORE", global = true)]
    pub store: Option<String>,
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; it is shown once, stored as a digest.
    Create {
        user: String,
        #[arg(long, default_value = "script")]
        label: String,
        /// Days until it expires (default: never).
        #[arg(long)]
        days: Option<i64>,
    },
    /// Revoke a token by its id (see `wangge token list`); a running
    /// server refuses it within 2 s (its credential cache).
    Revoke { id: i64 },
    /// List a user's tokens.
    List { user: String },
}

pub(super) fn open(store: Option<&String>) -> anyhow::Result<Arc<dyn Backend>> {
    let spec = store.context("--store FILE.gpkg (or a postgres:// URL) is required")?;
    super::open_existing(spec)
}

fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok((line.trim_end_matches(['\r', '\n']).to_string(), false))
    } else {
        Ok((generate_password(), true))
    }
}

fn audit(s: &dyn Backend, action: &str, target: &str, detail: &str) -> anyhow::Result<()> {
    s.audit(&AuditEntry {
        id: 0,
        at: timestamp(0),
        user: "cli".into(),
        action: action.into(),
        target: target.into(),
        from: "local".into(),
        detail: detail.into(),
    })?;
    Ok(())
}

fn user(s: &dyn Backend, name: &str) -> anyhow::Result<User> {
    s.user_by_name(name)?
        .with_context(|| format!("no user {name:?}"))
}

pub fn run_user(args: UserArgs) -> anyhow::Result<()> {
    let s = open(args.store.as_ref())?;
    match args.command {
        UserCommand::Add {
            name,
            role,
            scope,
            password_stdin,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: admin, planner, office, emergency or viewer")
            })?;
            let scope: Vec<String> = scope
                .split(',')
                .map(|p| p.trim().trim_end_matches('*').to_string())
                .collect();
            for p in scope.iter().filter(|p| !p.is_empty()) {
                anyhow::ensure!(
                    p.chars().all(|c| c.is_ascii_digit()) && p.len() <= 12,
                    "scope prefix {p:?} is not a region-code prefix"
                );
            }
            let (pw, generated) = password(password_stdin)?;
            let hash = hash_password(&pw).map_err(|e| anyhow::anyhow!("{e}"))?;
            s.put_user(&User {
                id: 0,
                name: name.clone(),
                role,
                scope: scope.clone(),
                password_hash: hash,
                disabled: false,
                created_at: timestamp(0),
            })?;
            audit(
                &*s,
                "user_add",
                &name,
                &format!("role {} scope {}", role.as_str(), scope.join(",")),
            )?;
            println!(
                "added {name} ({}, scope {})",
                role.as_str(),
                if scope.iter().any(String::is_empty) {
                    "*".into()
                } else {
                    scope.join(",")
                }
            );
            if generated {
                println!("password: {pw}");
            }
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let mut u = user(&*s, &name)?;
            let (pw, generated) = password(password_stdin)?;
            u.password_hash = hash_password(&pw).map_err(|e| anyhow::anyhow!("{e}"))?;
            s.put_user(&u)?;
            audit(&*s, "user_passwd", &name, "")?;
            println!("new password set for {name}");
            if generated {
                println!("password: {pw}");
            }
        }
        UserCommand::Disable { name } => {
            let mut u = user(&*s, &name)?;
            u.disabled = true;
            s.put_user(&u)?;
            audit(&*s, "user_disable", &name, "")?;
            println!("disabled {name}");
        }
        UserCommand::List => {
            for u in s.users()? {
                let scope = if u.scope.iter().any(String::is_empty) {
                    "*".to_string()
                } else {
                    u.scope.join(",")
                };
                println!(
                    "{:<16} {:<10} {:<30} {}",
                    u.name,
                    u.role.as_str(),
                    scope,
                    if u.disabled { "disabled" } else { "active" }
                );
            }
        }
    }
    Ok(())
}

pub fn run_token(args: TokenArgs) -> anyhow::Result<()> {
    let s = open(args.store.as_ref())?;
    match args.command {
        TokenCommand::Create {
            user: name,
            label,
            days,
        } => {
            let u = user(&*s, &name)?;
            let secret = new_secret("wgt_");
            let id = s.put_token(&Token {
                id: 0,
                user_id: u.id,
                label: label.clone(),
                digest: secret_digest(&secret),
                created_at: timestamp(0),
                expires_at: days.map(|d| timestamp(d * 86_400)),
                revoked: false,
            })?;
            audit(&*s, "token_create", &name, &format!("token {id} ({label})"))?;
            println!("token {id} for {name} (shown once; send it as Authorization: Bearer ...):");
            println!("{secret}");
        }
        TokenCommand::Revoke { id } => {
            let t = s
                .users()?
                .iter()
                .flat_map(|u| s.tokens(u.id).unwrap_or_default())
                .find(|t| t.id == id)
                .with_context(|| format!("no token {id}"))?;
            s.put_token(&Token { revoked: true, ..t })?;
            audit(&*s, "token_revoke", &id.to_string(), "")?;
            println!("revoked token {id}");
        }
        TokenCommand::List { user: name } => {
            let u = user(&*s, &name)?;
            for t in s.tokens(u.id)? {
                println!(
                    "{:<6} {:<16} created {} expires {} {}",
                    t.id,
                    t.label,
                    t.created_at,
                    t.expires_at.as_deref().unwrap_or("never"),
                    if t.revoked { "revoked" } else { "active" }
                );
            }
        }
    }
    Ok(())
}
