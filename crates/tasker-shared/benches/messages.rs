//! What every step costs on the wire: the orchestration service encodes a
//! `StepMessage`, the worker decodes it, encodes a `StepResult`, and the
//! orchestration service decodes that. `mage rust:bench` runs these and
//! collects the results into target/bench/rust.json.

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use std::hint::black_box;
use std::time::Duration;
use tasker_shared::messages::{queue_for_namespace, StepMessage, StepResult};

/// A step as the end-to-end run submits it: a sum of a few numbers.
fn step_message() -> StepMessage {
    StepMessage {
        step_id: 4_201,
        task_id: 1_337,
        namespace: "python".into(),
        handler: "sum".into(),
        input: json!({"numbers": [1, 2, 39, 1000, -7, 3.5]}),
    }
}

fn messages(c: &mut Criterion) {
    let mut g = c.benchmark_group("messages");
    let msg = step_message();
    let msg_text = serde_json::to_string(&msg).unwrap();
    let result = StepResult::complete(msg.step_id, msg.task_id, json!({"sum": 1038.5}));
    let result_text = serde_json::to_string(&result).unwrap();

    g.bench_function("step_message_encode", |b| {
        b.iter(|| serde_json::to_string(black_box(&msg)).unwrap())
    });
    g.bench_function("step_message_decode", |b| {
        b.iter(|| serde_json::from_str::<StepMessage>(black_box(&msg_text)).unwrap())
    });
    g.bench_function("step_result_encode", |b| {
        b.iter(|| serde_json::to_string(black_box(&result)).unwrap())
    });
    g.bench_function("step_result_decode", |b| {
        b.iter(|| serde_json::from_str::<StepResult>(black_box(&result_text)).unwrap())
    });
    // Checked on every submit and every worker start.
    g.bench_function("queue_for_namespace", |b| {
        b.iter(|| queue_for_namespace(black_box("typescript")).unwrap())
    });
    g.finish();
}

// Short runs: the numbers are compared against a baseline with a generous
// threshold, so criterion's default 8 s per benchmark buys nothing here.
criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = messages
}
criterion_main!(benches);
