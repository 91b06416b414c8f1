//! Integration tests against a real, migrated PostgreSQL.
//!
//! Ignored by default; `mage rust:testIntegration` runs them with
//! `--ignored` and DATABASE_URL set (the queues live in PGMQ_DATABASE_URL's
//! database when the databases are split). Each test uses its own queue.

use serde_json::json;
use std::thread;
use std::time::{Duration, Instant, SystemTime};
use tasker_pgmq::{Pgmq, PgmqError};
use tasker_shared::testing::{queue_database_url, unique_name};

/// A connected client and a fresh queue, dropped again at the end.
struct Fixture {
    mq: Pgmq,
    queue: String,
}

impl Fixture {
    fn new(prefix: &str) -> Fixture {
        let mut mq = Pgmq::connect(&queue_database_url()).expect("connect to the queue database");
        let queue = unique_name(&format!("it_{prefix}"));
        mq.create_queue(&queue).unwrap();
        Fixture { mq, queue }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.mq.drop_queue(&self.queue);
    }
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn send_read_delete() {
    let mut f = Fixture::new("srd");
    let q = f.queue.clone();
    f.mq.create_queue(&q).expect("create_queue is idempotent");

    let a = f.mq.send(&q, &json!({"n": 1})).unwrap();
    let b = f.mq.send(&q, &json!({"n": 2})).unwrap();
    assert!(b > a);
    assert_eq!(f.mq.queue_length(&q).unwrap(), 2);

    let msgs = f.mq.read(&q, 30, 10).unwrap();
    assert_eq!(msgs.iter().map(|m| m.msg_id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(msgs[0].message, json!({"n": 1}));
    assert_eq!(msgs[1].message, json!({"n": 2}));
    assert!(msgs.iter().all(|m| m.read_ct == 1));
    assert!(msgs[0].vt > SystemTime::now() + Duration::from_secs(20));
    assert!(msgs[0].enqueued_at <= SystemTime::now());

    // Both are invisible now.
    assert!(f.mq.read(&q, 30, 10).unwrap().is_empty());

    assert!(f.mq.delete(&q, a).unwrap());
    assert!(!f.mq.delete(&q, a).unwrap(), "second delete finds nothing");
    assert_eq!(f.mq.queue_length(&q).unwrap(), 1);
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn read_respects_qty() {
    let mut f = Fixture::new("qty");
    let q = f.queue.clone();
    for n in 0..5 {
        f.mq.send(&q, &json!(n)).unwrap();
    }
    assert_eq!(f.mq.read(&q, 30, 2).unwrap().len(), 2);
    assert_eq!(f.mq.read(&q, 30, 2).unwrap().len(), 2);
    assert_eq!(f.mq.read(&q, 30, 2).unwrap().len(), 1);
    assert!(f.mq.read(&q, 30, 2).unwrap().is_empty());
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn visibility_timeout_expires() {
    let mut f = Fixture::new("vt");
    let q = f.queue.clone();
    let id = f.mq.send(&q, &json!("again")).unwrap();

    let first = f.mq.read(&q, 1, 1).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].read_ct, 1);
    assert!(f.mq.read(&q, 1, 1).unwrap().is_empty(), "hidden during vt");

    thread::sleep(Duration::from_millis(1300));
    let again = f.mq.read(&q, 30, 1).unwrap();
    assert_eq!(again.len(), 1, "visible again after vt");
    assert_eq!(again[0].msg_id, id);
    assert_eq!(again[0].read_ct, 2);
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn delayed_send_is_invisible_until_due() {
    let mut f = Fixture::new("delay");
    let q = f.queue.clone();
    f.mq.send_delayed(&q, &json!("later"), 1).unwrap();
    assert!(f.mq.read(&q, 30, 1).unwrap().is_empty());
    thread::sleep(Duration::from_millis(1300));
    assert_eq!(f.mq.read(&q, 30, 1).unwrap().len(), 1);
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn archive_moves_the_message() {
    let mut f = Fixture::new("arch");
    let q = f.queue.clone();
    let id = f.mq.send(&q, &json!({"keep": true})).unwrap();
    f.mq.read(&q, 30, 1).unwrap();

    assert!(f.mq.archive(&q, id).unwrap());
    assert!(!f.mq.archive(&q, id).unwrap(), "already archived");
    assert_eq!(f.mq.queue_length(&q).unwrap(), 0);

    let row =
        f.mq.client()
            .query_one(
                "SELECT queue_name, read_ct, message FROM pgmq.archive WHERE msg_id = $1",
                &[&id],
            )
            .unwrap();
    assert_eq!(row.get::<_, String>(0), q);
    assert_eq!(row.get::<_, i32>(1), 1);
    assert_eq!(row.get::<_, serde_json::Value>(2), json!({"keep": true}));
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn concurrent_readers_never_share_a_message() {
    let f = Fixture::new("skip");
    let q = f.queue.clone();
    let mut producer = Pgmq::connect(&queue_database_url()).unwrap();
    for n in 0..40 {
        producer.send(&q, &json!(n)).unwrap();
    }
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                let mut mq = Pgmq::connect(&queue_database_url()).unwrap();
                let mut got = Vec::new();
                loop {
                    let batch = mq.read(&q, 30, 3).unwrap();
                    if batch.is_empty() {
                        return got;
                    }
                    got.extend(batch.into_iter().map(|m| m.msg_id));
                }
            })
        })
        .collect();
    let mut all: Vec<i64> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    assert_eq!(all.len(), 40);
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 40, "a message was read twice");
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn notify_wakes_a_waiting_listener() {
    let f = Fixture::new("notify");
    let q = f.queue.clone();
    let mut listener = Pgmq::connect(&queue_database_url()).unwrap();
    listener.listen(&q).unwrap();

    // Nothing sent: the wait times out.
    let start = Instant::now();
    assert!(!listener
        .wait_for_notify(&q, Duration::from_millis(300))
        .unwrap());
    assert!(start.elapsed() >= Duration::from_millis(250));

    let sender_q = q.clone();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        let mut mq = Pgmq::connect(&queue_database_url()).unwrap();
        mq.send(&sender_q, &json!("wake up")).unwrap()
    });
    let start = Instant::now();
    let woken = listener
        .wait_for_notify(&q, Duration::from_secs(10))
        .unwrap();
    let waited = start.elapsed();
    let id = sender.join().unwrap();
    assert!(woken, "no notification within 10s");
    assert!(waited < Duration::from_secs(5), "woke after {waited:?}");

    let msgs = listener.read(&q, 30, 10).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].msg_id, id);
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn notifications_sent_before_waiting_are_not_lost() {
    let f = Fixture::new("buffered");
    let q = f.queue.clone();
    let mut listener = Pgmq::connect(&queue_database_url()).unwrap();
    listener.listen(&q).unwrap();
    let mut sender = Pgmq::connect(&queue_database_url()).unwrap();
    for n in 0..3 {
        sender.send(&q, &json!(n)).unwrap();
    }
    // The server delivers each send's NOTIFY to the listener's socket on its
    // own schedule; let all three arrive, so the drain below is tested and
    // not the delivery race (a straggler would wake the next wait).
    std::thread::sleep(Duration::from_millis(200));
    // Sent while the listener was not waiting: still delivered.
    assert!(listener
        .wait_for_notify(&q, Duration::from_secs(5))
        .unwrap());
    // The burst was drained with the first wake-up.
    assert!(!listener
        .wait_for_notify(&q, Duration::from_millis(200))
        .unwrap());
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn send_inside_a_transaction_notifies_on_commit_only() {
    let f = Fixture::new("tx");
    let q = f.queue.clone();
    let mut listener = Pgmq::connect(&queue_database_url()).unwrap();
    listener.listen(&q).unwrap();

    let mut client = tasker_pgmq::connect(&queue_database_url()).unwrap();
    let mut tx = client.transaction().unwrap();
    tasker_pgmq::send(&mut tx, &q, &json!("rolled back")).unwrap();
    tx.rollback().unwrap();
    assert!(!listener
        .wait_for_notify(&q, Duration::from_millis(300))
        .unwrap());
    assert_eq!(listener.queue_length(&q).unwrap(), 0);

    let mut tx = client.transaction().unwrap();
    tasker_pgmq::send(&mut tx, &q, &json!("committed")).unwrap();
    tx.commit().unwrap();
    assert!(listener
        .wait_for_notify(&q, Duration::from_secs(5))
        .unwrap());
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn errors_for_missing_queues_and_bad_names() {
    let mut mq = Pgmq::connect(&queue_database_url()).unwrap();
    let missing = unique_name("it_missing");
    let err = mq.send(&missing, &json!(1)).unwrap_err();
    assert!(
        err.to_string().contains("does not exist"),
        "unexpected error: {err}"
    );
    assert!(matches!(
        mq.send("bad name", &json!(1)),
        Err(PgmqError::InvalidQueueName(_))
    ));
    assert!(!mq.drop_queue(&missing).unwrap());
    assert!(mq.read(&missing, 30, 1).unwrap().is_empty());
}
