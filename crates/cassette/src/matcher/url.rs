//! URLs in the normal form the match key uses.

/// A normalised URL: scheme and host lowercase, default port, user info and
/// fragment dropped, some query parameters removed and the rest sorted. The
/// text is used in the key; the ranges say where its host and path are.
pub(crate) struct NormalUrl {
    pub(crate) text: String,
    host: std::ops::Range<usize>,
    path: std::ops::Range<usize>,
}

impl NormalUrl {
    /// The normal form of `raw`, or `raw` itself when it is not a URL.
    pub(crate) fn parse(raw: &str, drop: &[String]) -> NormalUrl {
        match url::Url::parse(raw) {
            Ok(url) => NormalUrl::from_url(&url, drop),
            Err(_) => NormalUrl {
                text: raw.to_owned(),
                host: 0..0,
                path: 0..0,
            },
        }
    }

    /// The normal form of a parsed URL, without the query parameters named
    /// in `drop` (compared ignoring ASCII case).
    pub(crate) fn from_url(url: &url::Url, drop: &[String]) -> NormalUrl {
        let mut text = String::with_capacity(url.as_str().len());
        text.push_str(url.scheme());
        text.push_str("://");
        let host_start = text.len();
        text.push_str(url.host_str().unwrap_or(""));
        text[host_start..].make_ascii_lowercase();
        let host = host_start..text.len();
        if let Some(port) = url.port() {
            text.push(':');
            text.push_str(&port.to_string());
        }
        let path_start = text.len();
        text.push_str(url.path());
        let path = path_start..text.len();
        if url.query().is_some() {
            let mut pairs: Vec<_> = url
                .query_pairs()
                .filter(|(name, _)| !drop.iter().any(|d| d.eq_ignore_ascii_case(name)))
                .collect();
            if !pairs.is_empty() {
                pairs.sort();
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish();
                text.push('?');
                text.push_str(&query);
            }
        }
        NormalUrl { text, host, path }
    }

    pub(crate) fn host(&self) -> &str {
        self.text.get(self.host.clone()).unwrap_or("")
    }

    pub(crate) fn path(&self) -> &str {
        self.text.get(self.path.clone()).unwrap_or("")
    }

    /// The text the match key takes: the whole normal form, or without
    /// `origin`, only the path and query (so a recording made against one
    /// server matches requests to another).
    pub(crate) fn key_text(&self, origin: bool) -> &str {
        if origin || self.path.start == 0 {
            &self.text
        } else {
            self.text.get(self.path.start..).unwrap_or(&self.text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form() {
        let drop = vec!["key".to_owned()];
        let url = NormalUrl::parse(
            "HTTPS://User:pw@API.Example.com:443/v1/x?b=2&key=s&a=1#f",
            &drop,
        );
        assert_eq!(url.text, "https://api.example.com/v1/x?a=1&b=2");
        assert_eq!(url.host(), "api.example.com");
        assert_eq!(url.path(), "/v1/x");
        assert_eq!(NormalUrl::parse("not a url", &drop).text, "not a url");
        assert_eq!(
            NormalUrl::parse("http://h:8080/?key=1", &drop).text,
            "http://h:8080/"
        );
    }
}
