//! A PostgreSQL message queue client.
//!
//! Talks to the `pgmq` schema created by `db/migrations/0001_pgmq.up.sql`:
//! queues share one table, a message is invisible for a visibility timeout
//! after it is read, and `pgmq.send` raises a NOTIFY on `pgmq_<queue>` so
//! consumers can sleep in LISTEN instead of polling.
//!
//! Every queue operation exists twice: as a free function taking any
//! [`postgres::GenericClient`] (so it can join a caller's transaction) and as
//! a method of [`Pgmq`], which owns a connection and adds LISTEN/NOTIFY
//! wake-ups ([`Pgmq::wait_for_notify`]).
//!
//! ```
//! use tasker_pgmq::{notify_channel, validate_queue_name};
//!
//! assert!(validate_queue_name("rust_queue").is_ok());
//! assert!(validate_queue_name("no spaces").is_err());
//! assert_eq!(notify_channel("rust_queue"), "pgmq_rust_queue");
//! ```

pub mod conn;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, GenericClient, Row};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

pub use conn::{connect, Pool, PoolError, PooledClient};

/// Longest queue name: `pgmq_<queue>` must fit a 63-byte LISTEN channel.
pub const MAX_QUEUE_NAME_LEN: usize = 58;

/// A queue operation failure.
#[derive(Debug)]
pub enum PgmqError {
    /// The queue name breaks the naming rules (see [`validate_queue_name`]).
    InvalidQueueName(String),
    /// The database reported an error (including "queue does not exist").
    Postgres(postgres::Error),
    /// The connection to the server is gone.
    ConnectionClosed,
}

impl fmt::Display for PgmqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgmqError::InvalidQueueName(name) => write!(
                f,
                "invalid queue name {name:?}: use 1-{MAX_QUEUE_NAME_LEN} characters from [A-Za-z0-9_]"
            ),
            PgmqError::Postgres(e) => match e.as_db_error() {
                // Display the server's own message rather than the generic "db error".
                Some(db) => write!(f, "database error: {}", db.message()),
                None => write!(f, "database error: {e}"),
            },
            PgmqError::ConnectionClosed => f.write_str("the database connection is closed"),
        }
    }
}

impl std::error::Error for PgmqError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PgmqError::Postgres(e) => Some(e),
            _ => None,
        }
    }
}

impl From<postgres::Error> for PgmqError {
    fn from(e: postgres::Error) -> Self {
        PgmqError::Postgres(e)
    }
}

/// Result alias for queue operations.
pub type Result<T, E = PgmqError> = std::result::Result<T, E>;

/// Checks a queue name: 1 to [`MAX_QUEUE_NAME_LEN`] characters from
/// `[A-Za-z0-9_]` (the SQL side enforces the same rule).
pub fn validate_queue_name(queue: &str) -> Result<()> {
    let ok = !queue.is_empty()
        && queue.len() <= MAX_QUEUE_NAME_LEN
        && queue
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(PgmqError::InvalidQueueName(queue.to_string()))
    }
}

/// The NOTIFY channel `pgmq.send` signals for `queue`.
pub fn notify_channel(queue: &str) -> String {
    format!("pgmq_{queue}")
}

/// A message read from a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Unique across all queues.
    pub msg_id: i64,
    /// How many times it has been read (1 on the first read).
    pub read_ct: i32,
    /// When it was sent.
    pub enqueued_at: SystemTime,
    /// When it becomes visible again unless deleted or archived.
    pub vt: SystemTime,
    /// The payload.
    pub message: Value,
}

impl Message {
    fn from_row(row: &Row) -> Result<Message> {
        Ok(Message {
            msg_id: row.try_get("msg_id")?,
            read_ct: row.try_get("read_ct")?,
            enqueued_at: row.try_get("enqueued_at")?,
            vt: row.try_get("vt")?,
            message: row.try_get("message")?,
        })
    }
}

/// Creates `queue` if it does not exist.
pub fn create_queue(db: &mut impl GenericClient, queue: &str) -> Result<()> {
    validate_queue_name(queue)?;
    db.execute("SELECT pgmq.create_queue($1::text)", &[&queue])?;
    Ok(())
}

/// Drops `queue` with its messages and archive; false if it did not exist.
pub fn drop_queue(db: &mut impl GenericClient, queue: &str) -> Result<bool> {
    validate_queue_name(queue)?;
    let row = db.query_one("SELECT pgmq.drop_queue($1::text)", &[&queue])?;
    Ok(row.try_get(0)?)
}

/// Sends a message; returns its id. Listeners are notified at commit.
pub fn send(db: &mut impl GenericClient, queue: &str, message: &Value) -> Result<i64> {
    send_delayed(db, queue, message, 0)
}

/// Sends a message that stays invisible for `delay_seconds`.
pub fn send_delayed(
    db: &mut impl GenericClient,
    queue: &str,
    message: &Value,
    delay_seconds: i32,
) -> Result<i64> {
    validate_queue_name(queue)?;
    let row = db.query_one(
        "SELECT pgmq.send($1::text, $2::jsonb, $3::int4)",
        &[&queue, message, &delay_seconds],
    )?;
    Ok(row.try_get(0)?)
}

/// Reads up to `qty` visible messages, oldest first, hiding them for
/// `vt_seconds`. Concurrent readers never get the same message.
pub fn read(
    db: &mut impl GenericClient,
    queue: &str,
    vt_seconds: i32,
    qty: i32,
) -> Result<Vec<Message>> {
    validate_queue_name(queue)?;
    let rows = db.query(
        "SELECT msg_id, read_ct, enqueued_at, vt, message \
         FROM pgmq.read($1::text, $2::int4, $3::int4) ORDER BY msg_id",
        &[&queue, &vt_seconds, &qty],
    )?;
    rows.iter().map(Message::from_row).collect()
}

/// Deletes a message; false if it was not there.
pub fn delete(db: &mut impl GenericClient, queue: &str, msg_id: i64) -> Result<bool> {
    validate_queue_name(queue)?;
    let row = db.query_one("SELECT pgmq.delete($1::text, $2::int8)", &[&queue, &msg_id])?;
    Ok(row.try_get(0)?)
}

/// Moves a message to `pgmq.archive`; false if it was not there.
pub fn archive(db: &mut impl GenericClient, queue: &str, msg_id: i64) -> Result<bool> {
    validate_queue_name(queue)?;
    let row = db.query_one(
        "SELECT pgmq.archive($1::text, $2::int8)",
        &[&queue, &msg_id],
    )?;
    Ok(row.try_get(0)?)
}

/// Number of messages in `queue`, visible or not.
pub fn queue_length(db: &mut impl GenericClient, queue: &str) -> Result<i64> {
    validate_queue_name(queue)?;
    let row = db.query_one(
        "SELECT count(*) FROM pgmq.messages WHERE queue_name = $1::text",
        &[&queue],
    )?;
    Ok(row.try_get(0)?)
}

/// A queue client that owns its connection.
pub struct Pgmq {
    client: Client,
    listening: HashSet<String>,
}

impl Pgmq {
    /// Connects to `database_url` (see [`connect`]).
    pub fn connect(database_url: &str) -> Result<Pgmq> {
        Ok(Pgmq::new(connect(database_url)?))
    }

    /// Wraps an existing connection.
    pub fn new(client: Client) -> Pgmq {
        Pgmq {
            client,
            listening: HashSet::new(),
        }
    }

    /// The underlying connection, e.g. to start a transaction that calls the
    /// free functions of this crate.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Gives the connection back.
    pub fn into_client(self) -> Client {
        self.client
    }

    /// Runs `SELECT 1`.
    pub fn ping(&mut self) -> Result<()> {
        self.client.simple_query("SELECT 1")?;
        Ok(())
    }

    /// See [`create_queue`].
    pub fn create_queue(&mut self, queue: &str) -> Result<()> {
        create_queue(&mut self.client, queue)
    }

    /// See [`drop_queue`].
    pub fn drop_queue(&mut self, queue: &str) -> Result<bool> {
        drop_queue(&mut self.client, queue)
    }

    /// See [`send`].
    pub fn send(&mut self, queue: &str, message: &Value) -> Result<i64> {
        send(&mut self.client, queue, message)
    }

    /// See [`send_delayed`].
    pub fn send_delayed(
        &mut self,
        queue: &str,
        message: &Value,
        delay_seconds: i32,
    ) -> Result<i64> {
        send_delayed(&mut self.client, queue, message, delay_seconds)
    }

    /// See [`read`].
    pub fn read(&mut self, queue: &str, vt_seconds: i32, qty: i32) -> Result<Vec<Message>> {
        read(&mut self.client, queue, vt_seconds, qty)
    }

    /// See [`delete`].
    pub fn delete(&mut self, queue: &str, msg_id: i64) -> Result<bool> {
        delete(&mut self.client, queue, msg_id)
    }

    /// See [`archive`].
    pub fn archive(&mut self, queue: &str, msg_id: i64) -> Result<bool> {
        archive(&mut self.client, queue, msg_id)
    }

    /// See [`queue_length`].
    pub fn queue_length(&mut self, queue: &str) -> Result<i64> {
        queue_length(&mut self.client, queue)
    }

    /// Starts listening for sends to `queue` (once per connection).
    ///
    /// Notifications that arrive from now on are buffered by the connection,
    /// so the safe order is: listen, read until empty, wait. A send between
    /// the read and the wait still wakes the wait.
    pub fn listen(&mut self, queue: &str) -> Result<()> {
        validate_queue_name(queue)?;
        if !self.listening.contains(queue) {
            self.client
                .batch_execute(&format!("LISTEN \"{}\"", notify_channel(queue)))?;
            self.listening.insert(queue.to_string());
        }
        Ok(())
    }

    /// Blocks until a message is sent to `queue` or `timeout` passes; true
    /// when woken by a send. Listens first if needed.
    ///
    /// Notifications are hints, not messages: callers read the queue after
    /// waking (and also after a timeout, since delayed messages do not
    /// notify when they become visible). When this connection listens to a
    /// single queue, extra buffered notifications are drained on wake-up, so
    /// a burst of sends causes one wake-up instead of one per message.
    pub fn wait_for_notify(&mut self, queue: &str, timeout: Duration) -> Result<bool> {
        self.listen(queue)?;
        let channel = notify_channel(queue);
        let drain = self.listening.len() == 1;
        let deadline = Instant::now() + timeout;
        {
            let mut notifications = self.client.notifications();
            loop {
                let remaining = deadline.saturating_duration_since(Instant::now());
                let next = notifications.timeout_iter(remaining).next()?;
                match next {
                    Some(n) if n.channel() == channel => {
                        if drain {
                            while notifications.iter().next()?.is_some() {}
                        }
                        return Ok(true);
                    }
                    Some(_) => continue,
                    None => break,
                }
            }
        }
        if self.client.is_closed() {
            return Err(PgmqError::ConnectionClosed);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names() {
        for ok in [
            "q",
            "rust_queue",
            "Mixed_Case_9",
            &"q".repeat(MAX_QUEUE_NAME_LEN),
        ] {
            assert!(validate_queue_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a-b", "a b", "a\"b", "drop;table", "é", &"q".repeat(59)] {
            let err = validate_queue_name(bad).unwrap_err();
            assert!(matches!(err, PgmqError::InvalidQueueName(_)), "{bad}");
            assert!(err.to_string().contains("invalid queue name"));
        }
        // The longest queue name still makes a valid (<= 63 byte) channel.
        assert_eq!(notify_channel(&"q".repeat(MAX_QUEUE_NAME_LEN)).len(), 63);
    }

    #[test]
    fn connection_errors_are_reported() {
        // Nothing listens on port 1; the connection is refused at once.
        let err = Pgmq::connect("postgresql://nobody@127.0.0.1:1/none")
            .err()
            .expect("connecting to a closed port must fail");
        assert!(matches!(err, PgmqError::Postgres(_)));
        assert!(err.to_string().starts_with("database error"));
        assert!(Pgmq::connect("not a url at all").is_err());
    }
}
