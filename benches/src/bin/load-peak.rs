//! Loads one cassette the way a replaying test does, for measuring peak
//! memory from outside (`/usr/bin/time -v`).
//!
//! `load-peak FILE [cold|warm]`: `cold` reads the YAML (no load cache), `warm`
//! (the default) goes through the load cache in `target/llmvcr-cache/`, so a
//! second `warm` run reads the cache. Prints the interaction count.

use std::process::ExitCode;

use llmvcr_cassette::{CassetteMiddleware, Env, Mode};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(file), how) = (args.next(), args.next()) else {
        eprintln!("usage: load-peak FILE [cold|warm]");
        return ExitCode::from(2);
    };
    let mut builder = CassetteMiddleware::builder(&file)
        .mode(Mode::Replay)
        .env(Env::default());
    if how.as_deref() == Some("cold") {
        builder = builder.cache_dir(None);
    }
    match builder.build() {
        Ok(middleware) => {
            println!("{file}: {} interactions", middleware.len());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
