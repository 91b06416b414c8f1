//! Connections: [`connect`] with sane defaults and a tiny [`Pool`].

use postgres::{Client, NoTls};
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connect timeout used when the URL does not set `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a connection (without TLS) to a `postgresql://` URL or a libpq
/// key/value string, with a [`DEFAULT_CONNECT_TIMEOUT`] unless the string
/// sets one.
pub fn connect(database_url: &str) -> Result<Client, postgres::Error> {
    let mut config = postgres::Config::from_str(database_url)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("tasker");
    }
    config.connect(NoTls)
}

/// How long a check of a suspect connection may take.
const VALIDATE_TIMEOUT: Duration = Duration::from_secs(1);

/// Idle connections older than this are checked before reuse: the server
/// may have restarted meanwhile.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A small connection pool: connections are opened on demand and up to
/// `max_idle` are kept for reuse. Creating it never touches the network, so
/// a service can start (and report itself unhealthy) while the database is
/// down, and it recovers by itself when the server comes back: a
/// connection that failed, or idled past [`CHECK_AFTER_IDLE`] and no longer
/// answers, is dropped instead of reused. (The synchronous client never
/// notices on its own that its server went away: `is_closed` stays false.)
pub struct Pool {
    database_url: String,
    idle: Mutex<Vec<(Client, Instant)>>,
    max_idle: usize,
}

impl Pool {
    /// A pool for `database_url` keeping at most `max_idle` idle connections.
    pub fn new(database_url: impl Into<String>, max_idle: usize) -> Pool {
        Pool {
            database_url: database_url.into(),
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    /// The database URL this pool connects to.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// An idle connection that still answers, or a new one.
    pub fn get(&self) -> Result<PooledClient<'_>, postgres::Error> {
        let reused = loop {
            let next = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match next {
                Some((c, _)) if c.is_closed() => continue,
                Some((mut c, since)) if since.elapsed() > CHECK_AFTER_IDLE => {
                    if c.is_valid(VALIDATE_TIMEOUT).is_ok() {
                        break Some(c);
                    }
                }
                Some((c, _)) => break Some(c),
                None => break None,
            }
        };
        let client = match reused {
            Some(c) => c,
            None => connect(&self.database_url)?,
        };
        Ok(PooledClient {
            pool: self,
            client: Some(client),
        })
    }

    /// Checks the database answers `SELECT 1`, retrying once on a fresh
    /// connection (an idle one may have been cut by a server restart).
    pub fn ping(&self) -> Result<(), String> {
        let attempt = || -> Result<(), postgres::Error> {
            let mut c = self.get()?;
            let out = c.simple_query("SELECT 1").map(|_| ());
            if out.is_err() {
                c.drop_if_broken();
            }
            out
        };
        attempt()
            .or_else(|_| attempt())
            .map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            })
    }

    fn put_back(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push((client, Instant::now()));
        }
    }
}

/// A connection borrowed from a [`Pool`]; returned to it on drop.
pub struct PooledClient<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl PooledClient<'_> {
    /// After an error: closes the connection instead of returning it to the
    /// pool when it no longer answers (the server restarted or went away).
    pub fn drop_if_broken(&mut self) {
        if let Some(c) = self.client.as_mut() {
            if c.is_closed() || c.is_valid(VALIDATE_TIMEOUT).is_err() {
                self.client = None;
            }
        }
    }
}

impl Deref for PooledClient<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client
            .as_ref()
            .expect("client present until dropped as broken")
    }
}

impl DerefMut for PooledClient<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("client present until dropped as broken")
    }
}

impl Drop for PooledClient<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            self.pool.put_back(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_is_lazy_and_reports_unreachable_databases() {
        let pool = Pool::new("postgresql://nobody@127.0.0.1:1/none", 2);
        assert_eq!(pool.database_url(), "postgresql://nobody@127.0.0.1:1/none");
        assert!(pool.get().is_err());
        let msg = pool.ping().unwrap_err();
        assert!(!msg.is_empty());
    }

    #[test]
    fn bad_urls_fail_before_connecting() {
        assert!(connect("postgresql://h:notaport/db").is_err());
    }
}
