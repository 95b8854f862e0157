//! Carrying query parameters (a signed token, a time-shift window) on every URI a playlist
//! references, so a player's whole session keeps them.

/// Appends `query` (already encoded, without `?`) to every URI line and every `URI="..."`
/// attribute of `playlist`.
pub fn carry_query(playlist: &str, query: &str) -> String {
    if query.is_empty() {
        return playlist.to_owned();
    }
    let mut out = String::with_capacity(playlist.len() + 64 * query.len());
    for line in playlist.lines() {
        if line.is_empty() {
        } else if !line.starts_with('#') {
            out.push_str(line);
            out.push(separator(line));
            out.push_str(query);
        } else if let Some((start, end)) = relative_uri_attribute(line) {
            out.push_str(&line[..end]);
            out.push(separator(&line[start..end]));
            out.push_str(query);
            out.push_str(&line[end..]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Where the `URI` attribute's value of a tag line lies, when it is a relative reference:
/// absolute ones (`data:` with a key system's data, a provider's `skd://` or `https://`
/// license URL) are not the origin's and take no query.
fn relative_uri_attribute(line: &str) -> Option<(usize, usize)> {
    let start = line.find("URI=\"")? + 5;
    let end = line[start..].find('"').map_or(line.len(), |i| start + i);
    let uri = &line[start..end];
    let scheme = uri
        .find(':')
        .is_some_and(|i| !uri[..i].contains(['/', '?', '#']));
    (!scheme).then_some((start, end))
}

fn separator(uri: &str) -> char {
    if uri.contains('?') {
        '&'
    } else {
        '?'
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_on_uris_and_attributes() {
        let pl = "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x\",URI=\"a/media.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv/media.m3u8\n#EXTINF:2.000,\n5.ts?x=1\n";
        assert_eq!(
            carry_query(pl, "token=t"),
            "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x\",URI=\"a/media.m3u8?token=t\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv/media.m3u8?token=t\n#EXTINF:2.000,\n5.ts?x=1&token=t\n"
        );
        assert_eq!(carry_query(pl, ""), pl);
    }

    /// Key lines: the key route takes the query, a data URI or a provider's URL does not.
    #[test]
    fn absolute_key_uris_are_left_alone() {
        let pl = "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,AAAA\",KEYFORMAT=\"x\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k1\"\n#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"key/3.key\"\n#EXT-X-KEY:METHOD=AES-128,URI=\"../a:b.key\"\n";
        assert_eq!(
            carry_query(pl, "token=t"),
            "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,AAAA\",KEYFORMAT=\"x\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k1\"\n#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"key/3.key?token=t\"\n#EXT-X-KEY:METHOD=AES-128,URI=\"../a:b.key?token=t\"\n"
        );
    }
}
