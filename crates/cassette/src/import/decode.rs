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
/// Only byte bodies are decompressed: text in a cassette has already been
/// decoded by the recorder, whatever the headers say. A byte body is
/// decompressed when `Content-Encoding` is exactly `gzip` (or `x-gzip`) or
/// `deflate`, and failure is an error. With no `Content-Encoding` (or
/// `identity`), a body starting with the gzip magic bytes is gunzipped if
/// that succeeds and kept as it is otherwise. Other codings (`br`, `zstd`,
/// stacked codings) are kept as recorded, with `None` as the coding.
pub(crate) fn finish_body(
    raw: RawBody,
    headers: &Headers,
) -> Result<(Body, Option<ContentCoding>), (ContentCoding, std::io::Error)> {
    let bytes = match raw {
        RawBody::Empty => return Ok((Body::Empty, None)),
        RawBody::Text(text) => return Ok((Body::from_text(text), None)),
        RawBody::Json(value) => return Ok((Body::Json(value), None)),
        RawBody::Bytes(bytes) => bytes,
    };
    let codings: Vec<String> = headers
        .get_all("content-encoding")
        .iter()
        .flat_map(|value| value.split(','))
        .map(|coding| coding.trim().to_ascii_lowercase())
        .filter(|coding| !coding.is_empty() && coding != "identity")
        .collect();
    match codings.as_slice() {
        [] => {
            if bytes.starts_with(&[0x1f, 0x8b])
                && let Ok(decoded) = gunzip(&bytes)
            {
                return Ok((Body::from_bytes(decoded), Some(ContentCoding::Gzip)));
            }
            Ok((Body::from_bytes(bytes), None))
        }
        [coding] if coding == "gzip" || coding == "x-gzip" => match gunzip(&bytes) {
            Ok(decoded) => Ok((Body::from_bytes(decoded), Some(ContentCoding::Gzip))),
            Err(err) => Err((ContentCoding::Gzip, err)),
        },
        [coding] if coding == "deflate" => match inflate(&bytes) {
            Ok(decoded) => Ok((Body::from_bytes(decoded), Some(ContentCoding::Deflate))),
            Err(err) => Err((ContentCoding::Deflate, err)),
        },
        _ => Ok((Body::from_bytes(bytes), None)),
    }
}

/// Decompresses gzip, including several concatenated members.
fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    read_limited(flate2::read::MultiGzDecoder::new(bytes))
}

/// Decompresses `deflate`: a zlib stream, or failing that a raw deflate
/// stream.
fn inflate(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    match read_limited(flate2::read::ZlibDecoder::new(bytes)) {
        Ok(decoded) => Ok(decoded),
        Err(zlib_err) => {
            read_limited(flate2::read::DeflateDecoder::new(bytes)).map_err(|_| zlib_err)
        }
    }
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
    fn declared_gzip_that_is_not_gzip_is_an_error() {
        let err = finish_body(RawBody::Bytes(b"plain".to_vec()), &headers("gzip")).unwrap_err();
        assert_eq!(err.0, ContentCoding::Gzip);
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
        assert_eq!(coding, None);
    }

    #[test]
    fn non_utf8_stays_bytes() {
        let (body, _) = finish_body(RawBody::Bytes(gzip(&[0xff, 0xfe])), &headers("gzip")).unwrap();
        assert_eq!(body, Body::Bytes(vec![0xff, 0xfe]));
    }
}
