//! The queue round trip every step makes twice (to the worker, back to the
//! orchestration service): send, read (which hides the message for its
//! visibility timeout) and delete, each one statement on PostgreSQL.
//!
//! Needs a migrated database: `mage rust:bench` runs it on a fresh clone
//! (PGMQ_DATABASE_URL, else DATABASE_URL). Without one it says so and
//! measures nothing, so `cargo bench` works anywhere.

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use std::hint::black_box;
use std::time::Duration;
use tasker_pgmq::Pgmq;

fn database_url() -> Option<String> {
    ["PGMQ_DATABASE_URL", "DATABASE_URL"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
}

fn queue(c: &mut Criterion) {
    let Some(url) = database_url() else {
        eprintln!(
            "queue benchmarks skipped: DATABASE_URL is not set (`mage rust:bench` provides one)"
        );
        return;
    };
    let mut mq = Pgmq::connect(&url).expect("connect to the benchmark database");
    let q = format!("bench_{}", std::process::id());
    mq.create_queue(&q).unwrap();
    let payload = json!({"step_id": 2, "task_id": 1, "namespace": "rust", "handler": "sum",
                         "input": {"numbers": [1, 2, 39]}});

    let mut g = c.benchmark_group("queue");
    g.bench_function("send_read_delete", |b| {
        b.iter(|| {
            let id = mq.send(&q, black_box(&payload)).unwrap();
            let got = mq.read(&q, 30, 1).unwrap();
            assert_eq!(got.first().map(|m| m.msg_id), Some(id));
            assert!(mq.delete(&q, id).unwrap());
        })
    });
    g.finish();
    mq.drop_queue(&q).unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = queue
}
criterion_main!(benches);
