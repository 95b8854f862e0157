use super::*;

#[test]
fn resolves_relative_paths_inside_the_asset() {
    assert_eq!(resolve("a/b/", "c.ts").unwrap(), "a/b/c.ts");
    assert_eq!(resolve("a/b/", "../c/d.m4s").unwrap(), "a/c/d.m4s");
    assert_eq!(resolve("", "v/media.m3u8").unwrap(), "v/media.m3u8");
    for bad in [
        "../x.ts",
        "/abs.ts",
        "http://h/x.ts",
        "x.ts?t=1",
        "a b.ts",
        "",
    ] {
        assert!(resolve("", bad).is_err(), "{bad}");
    }
    assert_eq!(dir_of("s/index/media.m3u8"), "s/index/");
    assert_eq!(dir_of("manifest.m3u8"), "");
}

#[test]
fn hls_master_and_media_references() {
    let master =
        "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",URI=\"s/audio.m3u8\"\n\
                  #EXT-X-STREAM-INF:BANDWIDTH=1000,AUDIO=\"a\"\ns/video.m3u8\n";
    let r = hls("manifest.m3u8", master).unwrap();
    assert_eq!(r.playlists, ["s/video.m3u8", "s/audio.m3u8"]);
    let media = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n\
                 #EXT-X-MAP:URI=\"video_init_1.mp4\"\n#EXTINF:2.0,\nvideo_5.m4s\n#EXTINF:2.0,\nvideo_6.m4s\n\
                 #EXT-X-ENDLIST\n";
    let r = hls("s/video.m3u8", media).unwrap();
    assert_eq!(
        r.media,
        ["s/video_init_1.mp4", "s/video_5.m4s", "s/video_6.m4s"]
    );
    // A live playlist is not an asset.
    assert!(hls("s/video.m3u8", &media.replace("#EXT-X-ENDLIST\n", "")).is_err());
}

#[test]
fn mpd_templates_expand_time_and_number() {
    let mpd_text = r#"<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT6S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="1" contentType="video">
      <Representation id="v" bandwidth="1000">
        <SegmentTemplate timescale="90000" initialization="v/video_init_ab.mp4" media="v/video_t$Time$.m4s">
          <SegmentTimeline><S t="900" d="180000" r="1"/><S d="90000"/></SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="2" contentType="audio">
      <SegmentTemplate timescale="48000" initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number%03d$.m4s" startNumber="7">
        <SegmentTimeline><S t="0" d="96000" r="1"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="a" bandwidth="96000"/>
    </AdaptationSet>
  </Period>
</MPD>"#;
    assert_eq!(
        mpd("manifest.mpd", mpd_text).unwrap(),
        [
            "v/video_init_ab.mp4",
            "v/video_t900.m4s",
            "v/video_t180900.m4s",
            "v/video_t360900.m4s",
            "a/init.mp4",
            "a/007.m4s",
            "a/008.m4s",
        ]
    );
    assert!(mpd("manifest.mpd", &mpd_text.replace("static", "dynamic")).is_err());
    assert!(mpd(
        "manifest.mpd",
        &mpd_text.replace("r=\"1\"/><S d", "r=\"-1\"/><S d")
    )
    .is_err());
}
