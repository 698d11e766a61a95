//! Token counting: llmvcr-tokens against bpe-openai and tiktoken-rs on the same
//! corpus, in the same run.
//!
//! Benchmark ids are `<group>/<implementation>`; the report treats `llmvcr` as ours
//! and every other implementation in the group as a peer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llmvcr_benches::{SIZES, mixed};
use llmvcr_tokens::Encoding;

fn counting(c: &mut Criterion) {
    let ours = Encoding::O200kBase;
    ours.verify().unwrap();
    let bpe = bpe_openai::o200k_base();
    let tik = tiktoken_rs::o200k_base().unwrap();
    let ours_cl = Encoding::Cl100kBase;
    ours_cl.verify().unwrap();
    let bpe_cl = bpe_openai::cl100k_base();
    let tik_cl = tiktoken_rs::cl100k_base().unwrap();
    for (name, size) in SIZES {
        let text = mixed(size);
        // The three must agree before their speed means anything.
        let n = ours.count(&text);
        assert_eq!(n, tik.encode_ordinary(&text).len());
        assert_eq!(n, bpe.count(&text));
        let big = size > 1 << 20;
        for (enc, o, b, t) in [
            ("o200k_base", ours, bpe, &tik),
            ("cl100k_base", ours_cl, bpe_cl, &tik_cl),
        ] {
            let mut g = c.benchmark_group(format!("count/{enc}/{name}"));
            g.throughput(Throughput::Bytes(text.len() as u64));
            if big {
                g.sample_size(10).measurement_time(Duration::from_secs(8));
            } else if size > 1 << 12 {
                g.sample_size(30);
            }
            g.bench_function("llmvcr", |bch| bch.iter(|| o.count(black_box(&text))));
            g.bench_function("bpe-openai", |bch| {
                bch.iter(|| b.count(black_box(text.as_str())))
            });
            g.bench_function("tiktoken-rs", |bch| {
                bch.iter(|| t.encode_ordinary(black_box(&text)).len())
            });
            g.finish();
        }
    }
}

/// 1 MB of pseudo-random lowercase letters: one word, so one piece.
fn random_letters(len: usize) -> String {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'a' + ((x >> 33) % 26) as u8)
        })
        .collect()
}

/// Inputs with no split point: each is a single piece of 1 MB for the pre-tokenizer
/// (digits split every three), so the merge alone decides the cost. tiktoken-rs is
/// left out: its regex overflows its stack on 1 MB of spaces.
fn worst_case(c: &mut Criterion) {
    let ours = Encoding::O200kBase;
    let bpe = bpe_openai::o200k_base();
    let inputs = [
        ("letter", "a".repeat(1 << 20)),
        ("random_letters", random_letters(1 << 20)),
        ("spaces", " ".repeat(1 << 20)),
        ("punctuation", "!?".repeat(1 << 19)),
        ("digits", "7".repeat(1 << 20)),
    ];
    for (name, text) in inputs {
        let (a, b) = (ours.count(&text), bpe.count(text.as_str()));
        if a != b {
            eprintln!("worst_case {name}: llmvcr counts {a}, bpe-openai {b}");
        }
        let mut g = c.benchmark_group(format!("worst_case/o200k_base/1MB_{name}"));
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.sample_size(10).measurement_time(Duration::from_secs(4));
        g.bench_function("llmvcr", |bch| bch.iter(|| ours.count(black_box(&text))));
        g.bench_function("bpe-openai", |bch| {
            bch.iter(|| bpe.count(black_box(text.as_str())))
        });
        g.finish();
    }
}

/// `count_until` on 4 MB with a 1,000-token limit: the cost of a context-window check.
fn until(c: &mut Criterion) {
    let ours = Encoding::O200kBase;
    let text = mixed(4 << 20);
    let mut g = c.benchmark_group("count_until/o200k_base/4MB_limit_1000");
    g.bench_function("llmvcr", |bch| {
        bch.iter(|| ours.count_until(black_box(&text), 1000))
    });
    g.finish();
}

/// Loading the rank data, timed apart from counting. bpe-openai keeps its tables in a
/// process-wide static that cannot be loaded twice, so it is left out.
fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load/o200k_base");
    g.sample_size(10);
    g.bench_function("llmvcr", |bch| {
        bch.iter(|| Encoding::O200kBase.load_uncached().unwrap())
    });
    g.bench_function("tiktoken-rs", |bch| {
        bch.iter(|| tiktoken_rs::o200k_base().unwrap())
    });
    g.finish();
}

criterion_group!(benches, counting, worst_case, until, load);
criterion_main!(benches);
