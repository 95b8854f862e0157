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
        } else if let Some(start) = line.find("URI=\"").map(|i| i + 5) {
            let end = line[start..].find('"').map_or(line.len(), |i| start + i);
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
}
