//! Shared body decoding: base64 and HTTP content codings.

use std::io::Read;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::recorded::{ContentCoding, Headers, RecordedBody as Body};

/// The largest body that decompression may produce, so that a small
/// cassette cannot expand into an unbounded allocation.
pub(crate) const MAX_DECODED_BODY: u64 = 256 * 1024 * 1024;

/// Standard-alphabet base64 that accepts input with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A body as stored in the file, before content decoding.
#[derive(Debug)]
pub(crate) enum RawBody {
    Empty,
    Text(String),
    Json(serde_json::Value),
    Bytes(Vec<u8>),
}

/// Decodes base64 that may be wrapped over several lines (as `!!binary`
/// blocks and Ruby's `base64_string` are).
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact)
}

/// Turns a stored body into a [`Body`], removing the content coding of a byte
/// body.
///
/// The `Content-Encoding` header is read as one coding: exactly `gzip` (or
/// `x-gzip`) or `deflate`, ignoring case and `identity`. Recorders often keep
/// that header while storing the body they already decoded (VCR.py's httpx
/// and aiohttp stubs always do, and its urllib3 2 stubs sometimes do), so the
/// body decides:
///
/// - Text and JSON bodies are never compressed (gzip and zlib output is not
///   UTF-8 text). With a declared coding they are kept as they are and the
///   coding is reported as removed, so that
///   [`decoded_headers`](crate::recorded::RecordedResponse::decoded_headers)
///   drops the header and nothing claims the body is compressed.
/// - Declared gzip: bytes starting with the gzip magic bytes are gunzipped,
///   and failure is an error; other bytes are already decoded and kept.
/// - Declared deflate: bytes with a zlib header are inflated, and failure is
///   an error; UTF-8 text is already decoded and kept; other bytes are
///   inflated as raw deflate if that succeeds and kept otherwise.
/// - No declared coding: bytes starting with the gzip magic bytes are
///   gunzipped if that succeeds and kept as they are otherwise.
/// - Other codings (`br`, `zstd`, stacked codings) are kept as recorded,
///   with `None` as the coding.
///
/// Empty bodies are `Body::Empty` with `None` as the coding.
pub(crate) fn finish_body(
    raw: RawBody,
    headers: &Headers,
) -> Result<(Body, Option<ContentCoding>), (ContentCoding, std::io::Error)> {
    let (declared, sniff) = match declared_coding(headers) {
        Declared::Nothing => (None, true),
        Declared::One(coding) => (Some(coding), false),
        Declared::Other => (None, false),
    };
    let bytes = match raw {
        RawBody::Empty => return Ok((Body::Empty, None)),
        RawBody::Text(text) => {
            let body = Body::from_text(text);
            let coding = declared.filter(|_| body != Body::Empty);
            return Ok((body, coding));
        }
        RawBody::Json(value) => return Ok((Body::Json(value), declared)),
        RawBody::Bytes(bytes) if bytes.is_empty() => return Ok((Body::Empty, None)),
        RawBody::Bytes(bytes) => bytes,
    };
    match declared {
        None => {
            if sniff
                && bytes.starts_with(&GZIP_MAGIC)
                && let Ok(decoded) = gunzip(&bytes)
            {
                return Ok((Body::from_bytes(decoded), Some(ContentCoding::Gzip)));
            }
            Ok((Body::from_bytes(bytes), None))
        }
        Some(ContentCoding::Gzip) if bytes.starts_with(&GZIP_MAGIC) => match gunzip(&bytes) {
            Ok(decoded) => Ok((Body::from_bytes(decoded), Some(ContentCoding::Gzip))),
            Err(err) => Err((ContentCoding::Gzip, err)),
        },
        Some(ContentCoding::Deflate) => {
            let zlib = has_zlib_header(&bytes);
            let zlib_result = if zlib {
                Some(read_limited(flate2::read::ZlibDecoder::new(
                    bytes.as_slice(),
                )))
            } else {
                None
            };
            match zlib_result {
                Some(Ok(decoded)) => Ok((Body::from_bytes(decoded), Some(ContentCoding::Deflate))),
                zlib_result => match inflate_raw_exact(&bytes) {
                    Some(decoded) => Ok((Body::from_bytes(decoded), Some(ContentCoding::Deflate))),
                    None => match zlib_result {
                        Some(Err(err)) if std::str::from_utf8(&bytes).is_err() => {
                            Err((ContentCoding::Deflate, err))
                        }
                        _ => Ok((Body::from_bytes(bytes), Some(ContentCoding::Deflate))),
                    },
                },
            }
        }
        // Declared gzip, but the bytes are not gzip: already decoded.
        Some(coding) => Ok((Body::from_bytes(bytes), Some(coding))),
    }
}

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What `Content-Encoding` declares.
enum Declared {
    /// No coding, or only `identity`.
    Nothing,
    /// One coding that this module removes.
    One(ContentCoding),
    /// Another coding, or several.
    Other,
}

/// The content coding that `Content-Encoding` declares.
fn declared_coding(headers: &Headers) -> Declared {
    let codings: Vec<String> = headers
        .get_all("content-encoding")
        .iter()
        .flat_map(|value| value.split(','))
        .map(|coding| coding.trim().to_ascii_lowercase())
        .filter(|coding| !coding.is_empty() && coding != "identity")
        .collect();
    match codings.as_slice() {
        [] => Declared::Nothing,
        [coding] if coding == "gzip" || coding == "x-gzip" => Declared::One(ContentCoding::Gzip),
        [coding] if coding == "deflate" => Declared::One(ContentCoding::Deflate),
        _ => Declared::Other,
    }
}

/// Whether the bytes start with a zlib header (RFC 1950): the deflate method
/// with a window of at most 32 KiB, and a check value that is a multiple of
/// 31.
fn has_zlib_header(bytes: &[u8]) -> bool {
    match bytes {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// Decompresses gzip, including several concatenated members.
fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    read_limited(flate2::read::MultiGzDecoder::new(bytes))
}

/// Inflates a raw deflate stream (RFC 1951) that uses every byte, or `None`.
/// Requiring the whole input keeps text that merely starts like a deflate
/// block from being read as one.
fn inflate_raw_exact(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut decoder = flate2::bufread::DeflateDecoder::new(bytes);
    let decoded = read_limited(&mut decoder).ok()?;
    (decoder.total_in() == bytes.len() as u64).then_some(decoded)
}

fn read_limited(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(MAX_DECODED_BODY + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_DECODED_BODY {
        return Err(std::io::Error::other(format!(
            "the decoded body is larger than {MAX_DECODED_BODY} bytes"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn headers(encoding: &str) -> Headers {
        let mut h = Headers::new();
        h.push("Content-Encoding", vec![encoding.to_owned()]);
        h
    }

    #[test]
    fn base64_ignores_line_breaks_and_padding() {
        assert_eq!(decode_base64("aGVs\n  bG8=\n").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert!(decode_base64("a!b").is_err());
    }

    #[test]
    fn gzip_declared_or_sniffed_is_decoded() {
        let packed = gzip(b"data: x\n\n");
        let (body, coding) = finish_body(RawBody::Bytes(packed.clone()), &headers("gzip")).unwrap();
        assert_eq!(body, Body::Text("data: x\n\n".to_owned()));
        assert_eq!(coding, Some(ContentCoding::Gzip));
        let (body, coding) = finish_body(RawBody::Bytes(packed), &Headers::new()).unwrap();
        assert_eq!(body, Body::Text("data: x\n\n".to_owned()));
        assert_eq!(coding, Some(ContentCoding::Gzip));
    }

    #[test]
    fn concatenated_gzip_members_are_all_decoded() {
        let mut packed = gzip(b"one ");
        packed.extend(gzip(b"two"));
        let (body, _) = finish_body(RawBody::Bytes(packed), &headers("GZIP")).unwrap();
        assert_eq!(body, Body::Text("one two".to_owned()));
    }

    #[test]
    fn declared_gzip_that_is_not_gzip_is_already_decoded() {
        // httpx and aiohttp recorders keep the header and store decoded bytes.
        let (body, coding) =
            finish_body(RawBody::Bytes(b"plain".to_vec()), &headers("gzip")).unwrap();
        assert_eq!(body, Body::Text("plain".to_owned()));
        assert_eq!(coding, Some(ContentCoding::Gzip));
        let png = vec![0x89, b'P', b'N', b'G'];
        let (body, coding) = finish_body(RawBody::Bytes(png.clone()), &headers("gzip")).unwrap();
        assert_eq!(body, Body::Bytes(png));
        assert_eq!(coding, Some(ContentCoding::Gzip));
        // Text and JSON cannot be gzip: kept, and the header no longer applies.
        let (body, coding) =
            finish_body(RawBody::Text("data: x\n\n".to_owned()), &headers("gzip")).unwrap();
        assert_eq!(body, Body::Text("data: x\n\n".to_owned()));
        assert_eq!(coding, Some(ContentCoding::Gzip));
        let (_, coding) =
            finish_body(RawBody::Json(serde_json::json!({})), &headers("deflate")).unwrap();
        assert_eq!(coding, Some(ContentCoding::Deflate));
        let (body, coding) = finish_body(RawBody::Text(String::new()), &headers("gzip")).unwrap();
        assert_eq!((body, coding), (Body::Empty, None));
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let mut packed = gzip(b"some text that is long enough");
        let len = packed.len();
        packed.truncate(len - 12);
        let err = finish_body(RawBody::Bytes(packed), &headers("gzip")).unwrap_err();
        assert_eq!(err.0, ContentCoding::Gzip);
    }

    #[test]
    fn declared_deflate_that_is_plain_text_is_already_decoded() {
        // "x " looks like a zlib header; the text is kept.
        for text in ["x = 1", "{\"a\": 1}", "hello"] {
            let (body, coding) = finish_body(
                RawBody::Bytes(text.as_bytes().to_vec()),
                &headers("deflate"),
            )
            .unwrap();
            assert_eq!(body, Body::Text(text.to_owned()));
            assert_eq!(coding, Some(ContentCoding::Deflate));
        }
        let err = finish_body(
            RawBody::Bytes(vec![0x78, 0x9c, 0xff, 0xfe]),
            &headers("deflate"),
        )
        .unwrap_err();
        assert_eq!(err.0, ContentCoding::Deflate);
    }

    #[test]
    fn sniffed_gzip_that_fails_is_kept() {
        let bytes = vec![0x1f, 0x8b, 0xff, 0x00];
        let (body, coding) = finish_body(RawBody::Bytes(bytes.clone()), &Headers::new()).unwrap();
        assert_eq!(body, Body::Bytes(bytes));
        assert_eq!(coding, None);
    }

    #[test]
    fn deflate_zlib_and_raw() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"{\"a\":1}").unwrap();
        let zlib = z.finish().unwrap();
        let (body, coding) = finish_body(RawBody::Bytes(zlib), &headers("deflate")).unwrap();
        assert_eq!(body, Body::Text("{\"a\":1}".to_owned()));
        assert_eq!(coding, Some(ContentCoding::Deflate));

        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(b"raw").unwrap();
        let raw = d.finish().unwrap();
        let (body, _) = finish_body(RawBody::Bytes(raw), &headers("deflate")).unwrap();
        assert_eq!(body, Body::Text("raw".to_owned()));
    }

    #[test]
    fn brotli_and_stacked_codings_are_kept() {
        let bytes = vec![0x0b, 0x02, 0x80];
        let (body, coding) = finish_body(RawBody::Bytes(bytes.clone()), &headers("br")).unwrap();
        assert_eq!(body, Body::Bytes(bytes));
        assert_eq!(coding, None);
        let packed = gzip(b"x");
        let (body, coding) =
            finish_body(RawBody::Bytes(packed.clone()), &headers("gzip, br")).unwrap();
        assert_eq!(body, Body::Bytes(packed));
        assert_eq!(coding, None);
    }

    #[test]
    fn text_bodies_are_never_decompressed() {
        let (body, coding) =
            finish_body(RawBody::Text("already text".to_owned()), &headers("gzip")).unwrap();
        assert_eq!(body, Body::Text("already text".to_owned()));
        assert_eq!(coding, Some(ContentCoding::Gzip));
        let (_, coding) =
            finish_body(RawBody::Text("already text".to_owned()), &Headers::new()).unwrap();
        assert_eq!(coding, None);
    }

    #[test]
    fn non_utf8_stays_bytes() {
        let (body, _) = finish_body(RawBody::Bytes(gzip(&[0xff, 0xfe])), &headers("gzip")).unwrap();
        assert_eq!(body, Body::Bytes(vec![0xff, 0xfe]));
    }
}
