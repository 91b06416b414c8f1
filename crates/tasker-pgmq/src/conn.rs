//! Connections: [`connect`] with sane defaults and a small [`Pool`].

use postgres::{Client, NoTls};
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::{Condvar, Mutex, MutexGuard};
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

/// How long [`Pool::get`] waits for a connection when all are in use.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a [`Pool::ping`] result is reused: health endpoints under load
/// check the database once per period, not once per request.
const PING_MAX_AGE: Duration = Duration::from_millis(500);

/// Why [`Pool::get`] has no connection to give.
#[derive(Debug)]
pub enum PoolError {
    /// Connecting failed.
    Connect(postgres::Error),
    /// Every connection stayed in use for [`CHECKOUT_TIMEOUT`].
    Busy(usize),
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoolError::Connect(e) => match e.as_db_error() {
                Some(db) => f.write_str(db.message()),
                None => write!(f, "{e}"),
            },
            PoolError::Busy(n) => write!(
                f,
                "all {n} database connections stayed busy for {}s",
                CHECKOUT_TIMEOUT.as_secs()
            ),
        }
    }
}

impl std::error::Error for PoolError {}

/// A small connection pool of at most `max_size` connections, opened on
/// demand and kept for reuse; a caller finding all of them busy waits (up
/// to [`CHECKOUT_TIMEOUT`]) rather than opening more, so a burst of
/// requests cannot exhaust the server. Creating it never touches the
/// network, so a service can start (and report itself unhealthy) while the
/// database is down, and it recovers by itself when the server comes back:
/// a connection that failed, or idled past `CHECK_AFTER_IDLE` and no
/// longer answers, is dropped instead of reused. (The synchronous client
/// never notices on its own that its server went away: `is_closed` stays
/// false.)
pub struct Pool {
    database_url: String,
    max_size: usize,
    state: Mutex<State>,
    returned: Condvar,
    last_ping: Mutex<Option<(Instant, Result<(), String>)>>,
}

#[derive(Default)]
struct State {
    idle: Vec<(Client, Instant)>,
    open: usize, // idle plus checked out (plus being connected)
}

impl Pool {
    /// A pool for `database_url` of at most `max_size` connections.
    pub fn new(database_url: impl Into<String>, max_size: usize) -> Pool {
        Pool {
            database_url: database_url.into(),
            max_size: max_size.max(1),
            state: Mutex::new(State::default()),
            returned: Condvar::new(),
            last_ping: Mutex::new(None),
        }
    }

    /// The database URL this pool connects to.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection that still answers, or a new one while fewer than
    /// `max_size` are open; otherwise waits for one to be returned.
    pub fn get(&self) -> Result<PooledClient<'_>, PoolError> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut state = self.state();
        loop {
            if let Some((mut c, since)) = state.idle.pop() {
                drop(state);
                let stale = c.is_closed()
                    || (since.elapsed() > CHECK_AFTER_IDLE
                        && c.is_valid(VALIDATE_TIMEOUT).is_err());
                if !stale {
                    return Ok(self.lend(c));
                }
                state = self.state();
                state.open -= 1;
                continue;
            }
            if state.open < self.max_size {
                state.open += 1;
                drop(state);
                return match connect(&self.database_url) {
                    Ok(c) => Ok(self.lend(c)),
                    Err(e) => {
                        self.forget();
                        Err(PoolError::Connect(e))
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PoolError::Busy(self.max_size));
            }
            state = self
                .returned
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn lend(&self, client: Client) -> PooledClient<'_> {
        PooledClient {
            pool: self,
            client: Some(client),
        }
    }

    /// A connection was closed: make room for another.
    fn forget(&self) {
        self.state().open -= 1;
        self.returned.notify_one();
    }

    fn put_back(&self, client: Client) {
        if client.is_closed() {
            return self.forget();
        }
        self.state().idle.push((client, Instant::now()));
        self.returned.notify_one();
    }

    /// Checks the database answers `SELECT 1`, retrying once on a fresh
    /// connection (an idle one may have been cut by a server restart). The
    /// result is reused for `PING_MAX_AGE`, and concurrent callers share
    /// one check.
    pub fn ping(&self) -> Result<(), String> {
        let mut last = self.last_ping.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, result)) = last.as_ref() {
            if at.elapsed() < PING_MAX_AGE {
                return result.clone();
            }
        }
        let attempt = || -> Result<(), String> {
            let mut c = self.get().map_err(|e| e.to_string())?;
            let out = c.simple_query("SELECT 1").map(|_| ());
            if out.is_err() {
                c.drop_if_broken();
            }
            out.map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            })
        };
        let result = attempt().or_else(|_| attempt());
        *last = Some((Instant::now(), result.clone()));
        result
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
                self.pool.forget();
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
    fn failed_connects_free_their_place() {
        let pool = Pool::new("postgresql://nobody@127.0.0.1:1/none", 1);
        for _ in 0..3 {
            match pool.get() {
                Err(PoolError::Connect(_)) => {}
                Err(e) => panic!("want a connect error, got {e}"),
                Ok(_) => panic!("connected to a closed port"),
            }
        }
    }

    #[test]
    fn bad_urls_fail_before_connecting() {
        assert!(connect("postgresql://h:notaport/db").is_err());
    }
}
