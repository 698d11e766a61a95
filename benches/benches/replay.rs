//! Cassette replay: llmvcr's `CassetteMiddleware` against reqwest-vcr (the
//! maintained rvcr fork, with `VCRReplaySearch::SearchAll`), a wiremock
//! `MockServer` over loopback, and a floor middleware that returns in-memory bytes
//! without any lookup, on the same requests and responses, in the same run.
//!
//! Cassettes of 1, 100 and 1,000 interactions are built from the non-streamed
//! interactions of the real cassettes (`cassettes/real/`), each request made
//! unique with a `bench_seq` field. The last interaction is always the same one
//! (the real interaction of median size), and it is the one asked for, so every
//! size does the same work apart from the lookup.
//!
//! - `replay/<n>`: one request, from building it to reading the whole response body.
//!   The request is sent as recorded (compact JSON, keys in recorded order), as a
//!   client built on serde_json sends it.
//! - `replay_canonical/<n>`: the same request pretty-printed, so llmvcr matches it
//!   by its canonical form (reqwest-vcr cannot match it).
//! - `cassette_load/<n>`: reading the cassette file and getting a middleware ready
//!   to replay, and dropping it, once the cassette was loaded before by any
//!   process (llmvcr: the file's bytes hashed, the load cache under `target/`
//!   read; reqwest-vcr: JSON parse).
//! - `cassette_load_cold/<n>`: the same for llmvcr without the load cache: the
//!   YAML parsed and every request keyed, as the first load of a file does.
//! - `load_and_replay_all/<n>`: loading (warm), then replaying every
//!   interaction once, in recorded order: what a test that uses its whole
//!   cassette pays. One `reqwest::Client` is shared by the iterations, as
//!   its construction (root certificates) would dwarf both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use llmvcr_cassette::convert::{body_bytes, body_from_bytes, from_recorded};
use llmvcr_cassette::import::read_any;
use llmvcr_cassette::{
    Cassette, CassetteMiddleware, Env, HeaderList, Interaction, MatchRules, Mode, Redactor,
    Scanner, SecretRules, StoredBody as Body, save,
};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use serde_json::{Value, json};

const SIZES: [usize; 3] = [1, 100, 1_000];

/// One request and its response, as every implementation sees them.
#[derive(Clone)]
struct Exchange {
    path_and_query: String,
    body: Value,
    status: u16,
    headers: Vec<(String, String)>,
    response: Vec<u8>,
}

fn real_cassettes() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cassettes/real");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The non-streamed JSON exchanges of the real cassettes.
fn corpus() -> Vec<Exchange> {
    let mut out = Vec::new();
    for path in real_cassettes() {
        for recorded in read_any(&path).unwrap() {
            let i = from_recorded(&recorded, &[]);
            let (Some(Body::Json(body)), Some(response), None) =
                (&i.request.body, &i.response.body, &i.response.stream)
            else {
                continue;
            };
            let body = body.to_value();
            if !body.is_object() {
                continue;
            }
            if i.request.method != "POST" {
                continue;
            }
            let url = reqwest::Url::parse(&i.request.url).unwrap();
            let path_and_query = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            let headers = i
                .response
                .headers
                .pairs()
                .filter(|(n, _)| {
                    !matches!(
                        *n,
                        "content-length" | "transfer-encoding" | "content-encoding" | "connection"
                    )
                })
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect();
            out.push(Exchange {
                path_and_query,
                body: body.clone(),
                status: i.response.status,
                headers,
                response: body_bytes(response),
            });
        }
    }
    assert!(out.len() > 50, "only {} exchanges", out.len());
    out
}

/// `n` exchanges: fillers from the corpus, each made unique, then the target.
fn exchanges(corpus: &[Exchange], target: &Exchange, n: usize) -> Vec<Exchange> {
    let mut out: Vec<Exchange> = (0..n - 1)
        .map(|i| {
            let mut e = corpus[i % corpus.len()].clone();
            e.body["bench_seq"] = json!(i);
            e
        })
        .collect();
    out.push(target.clone());
    out
}

fn request_bytes(e: &Exchange) -> Vec<u8> {
    serde_json::to_vec(&e.body).unwrap()
}

fn llmvcr_cassette(base: &str, exchanges: &[Exchange]) -> Cassette {
    Cassette {
        interactions: exchanges
            .iter()
            .map(|e| Interaction {
                recorded_at: None,
                request: llmvcr_cassette::Request {
                    method: "POST".into(),
                    url: format!("{base}{}", e.path_and_query),
                    headers: HeaderList(vec![(
                        "content-type".into(),
                        vec!["application/json".into()],
                    )]),
                    body: Some(Body::Json(e.body.clone().into())),
                },
                response: llmvcr_cassette::Response {
                    status: e.status,
                    headers: {
                        let mut headers = HeaderList::default();
                        for (n, v) in &e.headers {
                            headers.append(n, v.clone());
                        }
                        headers
                    },
                    body: body_from_bytes(&e.response),
                    stream: None,
                },
            })
            .collect(),
        ..Cassette::default()
    }
}

/// The same exchanges as a vcr-cassette JSON document, as reqwest-vcr reads it.
fn vcr_json(base: &str, exchanges: &[Exchange]) -> String {
    let interactions: Vec<Value> = exchanges
        .iter()
        .map(|e| {
            let mut headers = serde_json::Map::new();
            for (n, v) in &e.headers {
                headers.insert(n.clone(), json!([v]));
            }
            json!({
                "request": {
                    "uri": format!("{base}{}", e.path_and_query),
                    "body": {"encoding": null, "string": String::from_utf8(request_bytes(e)).unwrap()},
                    "method": "post",
                    "headers": {"content-type": ["application/json"]},
                },
                "response": {
                    "body": {"encoding": null, "string": String::from_utf8_lossy(&e.response)},
                    "http_version": "1.1",
                    "status": {"code": e.status, "message": "OK"},
                    "headers": headers,
                },
                "recorded_at": "Tue, 01 Nov 2011 04:58:44 +0000",
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({
        "http_interactions": interactions,
        "recorded_with": "rVCR 0.4.0",
    }))
    .unwrap()
}

/// Returns one fixed response from memory: no lookup, no parsing.
struct Floor {
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

#[async_trait::async_trait]
impl Middleware for Floor {
    async fn handle(
        &self,
        _req: reqwest::Request,
        _extensions: &mut http::Extensions,
        _next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let mut response = http::Response::new(reqwest::Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        Ok(reqwest::Response::from(response))
    }
}

fn floor(e: &Exchange) -> Floor {
    let mut headers = http::HeaderMap::new();
    for (n, v) in &e.headers {
        headers.append(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(e.response.len()),
    );
    Floor {
        status: http::StatusCode::from_u16(e.status).unwrap(),
        headers,
        body: Bytes::from(e.response.clone()),
    }
}

fn client(m: impl Middleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new()).with(m).build()
}

/// A client over `http`: building a `reqwest::Client` loads the system's
/// root certificates (milliseconds), which no replay needs to repeat.
fn client_over(http: &reqwest::Client, m: impl Middleware) -> ClientWithMiddleware {
    ClientBuilder::new(http.clone()).with(m).build()
}

async fn ask(client: &ClientWithMiddleware, url: &str, body: &Bytes) -> Bytes {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(response.status().as_u16() < 600);
    response.bytes().await.unwrap()
}

fn redactor() -> Redactor {
    Redactor::with_values(&SecretRules::generic(), Vec::new())
}

fn llmvcr_middleware(path: &Path) -> CassetteMiddleware {
    CassetteMiddleware::builder(path)
        .mode(Mode::Replay)
        .env(Env::default())
        .redactor(redactor())
        .match_rules(MatchRules::new().with_repeats(true))
        .build()
        .unwrap()
}

/// A middleware that reads the YAML, as the first process to load a
/// cassette does: no load cache.
fn llmvcr_middleware_cold(path: &Path) -> CassetteMiddleware {
    CassetteMiddleware::builder(path)
        .mode(Mode::Replay)
        .env(Env::default())
        .redactor(redactor())
        .match_rules(MatchRules::new().with_repeats(true))
        .cache_dir(None)
        .build()
        .unwrap()
}

fn vcr_middleware(path: &Path) -> reqwest_vcr::VCRMiddleware {
    reqwest_vcr::VCRMiddleware::try_from(path.to_path_buf())
        .unwrap()
        .with_mode(reqwest_vcr::VCRMode::Replay)
        .with_search(reqwest_vcr::VCRReplaySearch::SearchAll)
}

fn replay(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let corpus = corpus();
    // The target: the real exchange of median size.
    let mut by_size: Vec<&Exchange> = corpus.iter().collect();
    by_size.sort_by_key(|e| request_bytes(e).len() + e.response.len());
    let target = by_size[by_size.len() / 2].clone();

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-replay");
    std::fs::create_dir_all(&dir).unwrap();

    for n in SIZES {
        let server = rt.block_on(wiremock::MockServer::start());
        let base = server.uri();
        let exchanges = exchanges(&corpus, &target, n);
        let last = exchanges.last().unwrap().clone();
        let url = format!("{base}{}", last.path_and_query);
        let request = Bytes::from(request_bytes(&last));

        // The same cassette on disk in both formats. The real recordings keep
        // their servers' cookies; they are redacted as recording would.
        let yaml_path = dir.join(format!("cassette-{n}.yaml"));
        let rules = SecretRules::generic();
        let mut cassette = llmvcr_cassette(&base, &exchanges);
        redactor().redact_cassette(&mut cassette);
        save(&yaml_path, &cassette, &Scanner::new(&rules, &redactor())).unwrap();
        let json_path = dir.join(format!("cassette-{n}.vcr.json"));
        std::fs::write(&json_path, vcr_json(&base, &exchanges)).unwrap();

        for e in &exchanges {
            let mut response = wiremock::ResponseTemplate::new(e.status)
                .set_body_raw(e.response.clone(), "application/json");
            for (name, value) in &e.headers {
                if name != "content-type" {
                    response = response.insert_header(name.as_str(), value.as_str());
                }
            }
            rt.block_on(
                wiremock::Mock::given(wiremock::matchers::method("POST"))
                    .and(wiremock::matchers::path(
                        e.path_and_query.split('?').next().unwrap(),
                    ))
                    .and(wiremock::matchers::body_json(&e.body))
                    .respond_with(response)
                    .mount(&server),
            );
        }

        let ours = client(llmvcr_middleware(&yaml_path));
        let theirs = client(vcr_middleware(&json_path));
        let mock = ClientBuilder::new(reqwest::Client::new()).build();
        let bottom = client(floor(&last));

        // Everyone answers with the same bytes before anyone is timed.
        let want = rt.block_on(ask(&bottom, &url, &request));
        for (name, c) in [
            ("llmvcr", &ours),
            ("reqwest-vcr", &theirs),
            ("wiremock", &mock),
        ] {
            let got = rt.block_on(ask(c, &url, &request));
            let got: Value = serde_json::from_slice(&got).unwrap();
            let want: Value = serde_json::from_slice(&want).unwrap();
            assert_eq!(got, want, "{name} at {n}");
        }

        let mut g = c.benchmark_group(format!("replay/{n}"));
        g.measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        g.bench_function("llmvcr", |b| {
            b.iter(|| rt.block_on(ask(&ours, &url, &request)))
        });
        g.bench_function("reqwest-vcr", |b| {
            b.iter(|| rt.block_on(ask(&theirs, &url, &request)))
        });
        g.bench_function("wiremock", |b| {
            b.iter(|| rt.block_on(ask(&mock, &url, &request)))
        });
        g.bench_function("floor", |b| {
            b.iter(|| rt.block_on(ask(&bottom, &url, &request)))
        });
        g.finish();

        // The same request pretty-printed: not byte-equal to the recording, so
        // llmvcr canonicalises it (reqwest-vcr compares bodies as strings and
        // cannot match it at all).
        let pretty = Bytes::from(serde_json::to_vec_pretty(&last.body).unwrap());
        let got = rt.block_on(ask(&ours, &url, &pretty));
        assert_eq!(
            serde_json::from_slice::<Value>(&got).unwrap(),
            serde_json::from_slice::<Value>(&want).unwrap()
        );
        let mut g = c.benchmark_group(format!("replay_canonical/{n}"));
        g.measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        g.bench_function("llmvcr", |b| {
            b.iter(|| rt.block_on(ask(&ours, &url, &pretty)))
        });
        g.bench_function("floor", |b| {
            b.iter(|| rt.block_on(ask(&bottom, &url, &pretty)))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("cassette_load/{n}"));
        g.measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        if n >= 1_000 {
            g.sample_size(30);
        }
        g.bench_function("llmvcr", |b| b.iter(|| llmvcr_middleware(&yaml_path)));
        g.bench_function("reqwest-vcr", |b| b.iter(|| vcr_middleware(&json_path)));
        g.finish();

        let mut g = c.benchmark_group(format!("cassette_load_cold/{n}"));
        g.measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        if n >= 100 {
            g.sample_size(10);
        }
        g.bench_function("llmvcr", |b| b.iter(|| llmvcr_middleware_cold(&yaml_path)));
        g.finish();

        let all: Vec<(String, Bytes)> = exchanges
            .iter()
            .map(|e| {
                (
                    format!("{base}{}", e.path_and_query),
                    Bytes::from(request_bytes(e)),
                )
            })
            .collect();
        let http = reqwest::Client::new();
        let mut g = c.benchmark_group(format!("load_and_replay_all/{n}"));
        g.measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        if n >= 1_000 {
            g.sample_size(10);
        }
        g.bench_function("llmvcr", |b| {
            b.iter(|| {
                let client = client_over(&http, llmvcr_middleware(&yaml_path));
                for (url, body) in &all {
                    rt.block_on(ask(&client, url, body));
                }
            })
        });
        g.bench_function("reqwest-vcr", |b| {
            b.iter(|| {
                let client = client_over(&http, vcr_middleware(&json_path));
                for (url, body) in &all {
                    rt.block_on(ask(&client, url, body));
                }
            })
        });
        g.finish();
        drop(server);
    }
}

criterion_group!(benches, replay);
criterion_main!(benches);
