//! Arbitrary and truncated bytes never panic a framer, and splitting a stream at any
//! point never changes what it yields.
use llmvcr_framing::{JsonArrayFramer, NdjsonFramer, SseFramer};
use proptest::prelude::*;

fn chunks(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut prev = 0;
    for p in points {
        out.push(data[prev..p].to_vec());
        prev = p;
    }
    out.push(data[prev..].to_vec());
    out
}

macro_rules! framer_props {
    ($name:ident, $framer:ty) => {
        mod $name {
            use super::*;
            proptest! {
                #[test]
                fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
                    let mut f = <$framer>::new();
                    let _ = f.feed(&data).and_then(|_| f.finish());
                }

                #[test]
                fn chunking_does_not_change_output(
                    data in proptest::collection::vec(prop_oneof![
                        Just(b'\n'), Just(b'\r'), Just(b':'), Just(b'['), Just(b']'),
                        Just(b'{'), Just(b'}'), Just(b','), Just(b'"'), Just(b'\\'),
                        Just(b' '), Just(b'a'), Just(b'1'),
                    ], 0..256),
                    cuts in proptest::collection::vec(any::<usize>(), 0..8),
                ) {
                    let whole = {
                        let mut f = <$framer>::new();
                        f.feed(&data).and_then(|mut v| { v.extend(f.finish()?); Ok(v) })
                    };
                    let pieces = {
                        let mut f = <$framer>::new();
                        let mut all = Vec::new();
                        let mut res = Ok(());
                        for c in chunks(&data, &cuts) {
                            match f.feed(&c) {
                                Ok(v) => all.extend(v),
                                Err(e) => { res = Err(e); break; }
                            }
                        }
                        res.and_then(|_| { all.extend(f.finish()?); Ok(all) })
                    };
                    prop_assert_eq!(whole.is_ok(), pieces.is_ok());
                    if let (Ok(a), Ok(b)) = (whole, pieces) {
                        prop_assert_eq!(a, b);
                    }
                }
            }
        }
    };
}

framer_props!(sse, SseFramer);
framer_props!(ndjson, NdjsonFramer);
framer_props!(json_array, JsonArrayFramer);
