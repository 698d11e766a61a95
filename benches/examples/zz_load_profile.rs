#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::time::Instant;
use std::hint::black_box;
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let c = llmvcr_cassette::load(&dir.join("cassette-1.yaml")).unwrap();
    let i = &c.interactions[0];
    let req = &i.request;
    let bytes = llmvcr_cassette::body_bytes(req.body.as_ref().unwrap());
    let text = std::str::from_utf8(&bytes).unwrap();
    let rules = llmvcr_cassette::MatchRules::new();
    let url = reqwest::Url::parse(&req.url).unwrap();
    let n = 200_000;
    for _ in 0..2 {
    let t = Instant::now();
    for _ in 0..n { black_box(rules.key_of_parts("POST", black_box(&url), Some(black_box(text)))); }
    println!("key_of_parts {} bytes: {:?}", text.len(), t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { black_box(rules.key_of_parts("POST", black_box(&url), None)); }
    println!("key_of_parts no body: {:?}", t.elapsed() / n);
    for body in ["{}", "[1,2,3]", "{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6}"] {
        let t = Instant::now();
        for _ in 0..n { black_box(rules.key_of_parts("POST", black_box(&url), Some(black_box(body)))); }
        println!("key_of_parts {body:.20}: {:?}", t.elapsed() / n);
    }
    let p = llmvcr_cassette::PreparedResponse::new(i).unwrap();
    let t = Instant::now();
    for _ in 0..n { black_box(p.to_response(&url, llmvcr_cassette::ReplaySpeed::Instant)); }
    println!("to_response: {:?}", t.elapsed() / n);
    let client = reqwest::Client::new();
    let t = Instant::now();
    for _ in 0..n { black_box(client.post(url.clone()).header("content-type", "application/json").body(bytes.clone()).build().unwrap()); }
    println!("build reqwest request: {:?}", t.elapsed() / n);
    }
}
