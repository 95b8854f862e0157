// Browser side of the player harness (a classic script, loaded by player.html after the
// player libraries). `startPlayer(config)` begins playback; `playerState()` is polled by Node.
// `config.playerConfig` goes to the player as its own configuration (hls.js constructor
// options, Shaka `configure()`, dash.js `updateSettings()`); `playerState().liveLatency` is how
// far the playing position is behind this machine's clock, by the player's own wall-clock API.
/* global Hls, shaka, dashjs, mpegts */
(function () {
  const video = document.getElementById('video');
  const state = { fatal: [], warnings: [], events: [], startCurrentTime: null, startWallMs: null };

  function note(kind, detail) {
    state.events.push({ t: Date.now(), kind, detail });
    if (state.events.length > 200) state.events.shift();
  }
  function describe(x) {
    try {
      return typeof x === 'string' ? x : JSON.stringify(x, (k, v) => (k === 'networkDetails' || v instanceof Node ? undefined : v)).slice(0, 600);
    } catch (e) {
      return String(x);
    }
  }

  for (const ev of ['loadedmetadata', 'canplay', 'playing', 'waiting', 'stalled', 'seeking', 'ended']) {
    video.addEventListener(ev, () => note(ev, video.currentTime));
  }
  video.addEventListener('playing', () => {
    if (state.startCurrentTime === null) {
      state.startCurrentTime = video.currentTime;
      state.startWallMs = Date.now();
    }
  });
  video.addEventListener('error', () => {
    const e = video.error;
    state.fatal.push(`media element error ${e && e.code}: ${e && e.message}`);
  });

  // Every SourceBuffer the player makes, for each one's buffered ranges (the element's are
  // their intersection, which hides which track is missing).
  const sourceBuffers = [];
  for (const MS of [window.MediaSource, window.ManagedMediaSource]) {
    if (!MS) continue;
    const add = MS.prototype.addSourceBuffer;
    MS.prototype.addSourceBuffer = function (type) {
      const sb = add.call(this, type);
      sourceBuffers.push({ type: type.split(';')[0], sb });
      return sb;
    };
  }
  function ranges(timeRanges) {
    const out = [];
    for (let i = 0; i < timeRanges.length; i++) out.push([timeRanges.start(i), timeRanges.end(i)]);
    return out;
  }
  function sourceBuffered() {
    return sourceBuffers.map(({ type, sb }) => {
      try {
        return { type, buffered: ranges(sb.buffered) };
      } catch (e) {
        return { type, buffered: `${e.name}` };
      }
    });
  }

  let playbackRate = 1;
  function playMuted() {
    video.muted = true;
    video.playbackRate = playbackRate;
    const p = video.play();
    if (p && p.catch) p.catch((e) => state.warnings.push(`play(): ${e}`));
  }

  // hls.js's own log (`playerConfig.keepLog`): its first and its last `keep` lines.
  function keptLog(keep) {
    state.log = { first: [], last: [] };
    const line = (level) => (...args) => {
      const text = `${Date.now()} ${level} ${args.map(describe).join(' ')}`.slice(0, 400);
      const into = state.log.first.length < keep ? state.log.first : state.log.last;
      into.push(text);
      if (state.log.last.length > keep) state.log.last.shift();
    };
    return { debug: () => {}, log: line('log'), info: line('info'), warn: line('warn'), error: line('error') };
  }

  function startHls(url, headers, playerConfig) {
    if (!Hls.isSupported()) throw new Error('hls.js: MSE not supported');
    const { keepLog, ...config } = playerConfig || {};
    const hls = new Hls({
      ...config,
      ...(keepLog ? { debug: keptLog(keepLog) } : {}),
      xhrSetup(xhr) {
        for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      },
    });
    hls.on(Hls.Events.ERROR, (_ev, data) => {
      const msg = `${data.type}/${data.details}${data.response ? ` HTTP ${data.response.code}` : ''} ${data.url || (data.frag && data.frag.url) || ''}`;
      (data.fatal ? state.fatal : state.warnings).push(msg);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, (_ev, data) => {
      note('manifest', data.levels.map((l) => `${l.width}x${l.height}@${l.bitrate}`).join(' '));
      playMuted();
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_ev, data) => note('level', data.level));
    hls.loadSource(url);
    hls.attachMedia(video);
    window.player = hls;
  }

  async function startShaka(url, headers, playerConfig) {
    shaka.polyfill.installAll();
    if (!shaka.Player.isBrowserSupported()) throw new Error('Shaka: browser not supported');
    const player = new shaka.Player();
    await player.attach(video);
    player.getNetworkingEngine().registerRequestFilter((_type, request) => {
      Object.assign(request.headers, headers);
    });
    player.addEventListener('error', (ev) => {
      const e = ev.detail;
      const msg = `shaka error code ${e.code} category ${e.category} severity ${e.severity} ${describe(e.data)}`;
      (e.severity === shaka.util.Error.Severity.CRITICAL ? state.fatal : state.warnings).push(msg);
    });
    window.player = player;
    if (playerConfig) player.configure(playerConfig);
    try {
      await player.load(url);
    } catch (e) {
      state.fatal.push(`shaka load() failed: code ${e.code} ${describe(e.data)}`);
      return;
    }
    note('manifest', player.getVariantTracks().map((t) => `${t.width}x${t.height}@${t.bandwidth}`).join(' '));
    playMuted();
  }

  function startDash(url, headers, playerConfig) {
    const player = dashjs.MediaPlayer().create();
    // `protectionData` (ClearKey keys) goes to setProtectionData, the rest to the settings.
    const { protectionData, ...settings } = playerConfig || {};
    if (protectionData) player.setProtectionData(protectionData);
    if (playerConfig) player.updateSettings(settings);
    if (player.addRequestInterceptor) {
      player.addRequestInterceptor((request) => {
        request.headers = { ...(request.headers || {}), ...headers };
        return Promise.resolve(request);
      });
    }
    player.on(dashjs.MediaPlayer.events.ERROR, (e) => state.fatal.push(`dash.js error ${describe(e.error)}`));
    player.on(dashjs.MediaPlayer.events.PLAYBACK_ERROR, (e) => state.fatal.push(`dash.js playback error ${describe(e.error)}`));
    video.muted = true;
    player.initialize(video, url, true);
    window.player = player;
  }

  // A file the browser plays itself (`<video src>`: progressive MP4 read by Range requests).
  function startVideo(url) {
    video.addEventListener('error', () => state.fatal.push(`video: ${video.error && (video.error.message || video.error.code)}`));
    video.src = url;
    video.play().catch((e) => state.fatal.push(`video play: ${e && e.message}`));
  }

  // HTTP-FLV (mpegts.js): one long response, played as a live stream.
  function startMpegts(url, headers, playerConfig) {
    if (!mpegts.getFeatureList().mseLivePlayback) throw new Error('mpegts.js: no MSE live playback');
    const player = mpegts.createPlayer({ type: 'flv', isLive: true, url }, { headers, ...playerConfig });
    player.on(mpegts.Events.ERROR, (type, detail, info) => state.fatal.push(`mpegts.js ${type}/${detail} ${describe(info)}`));
    player.attachMediaElement(video);
    player.load();
    playMuted();
    window.player = player;
  }

  let playerName = null;
  window.startPlayer = async function ({ player, url, headers = {}, rate = 1, playerConfig = undefined }) {
    playbackRate = rate;
    playerName = player;
    // Players may reset the rate on load: keep asking for it.
    video.addEventListener('playing', () => {
      if (video.playbackRate !== playbackRate) video.playbackRate = playbackRate;
    });
    try {
      if (player === 'hls.js') startHls(url, headers, playerConfig);
      else if (player === 'shaka') {
        // Runs on in the background; its errors land in state.
        startShaka(url, headers, playerConfig).catch((e) => state.fatal.push(`shaka: ${e && (e.message || e.code)}`));
      }
      else if (player === 'dash.js') startDash(url, headers, playerConfig);
      else if (player === 'mpegts.js') startMpegts(url, headers, playerConfig);
      else if (player === 'video') startVideo(url);
      else throw new Error(`unknown player ${player}`);
    } catch (e) {
      state.fatal.push(`start failed: ${e && e.message}`);
    }
  };

  /**
   * Seconds from the wall-clock time of the playing position to now, or null before the player
   * knows it: hls.js `playingDate` (from EXT-X-PROGRAM-DATE-TIME), Shaka
   * `getPlayheadTimeAsDate()`, dash.js `timeAsUTC()` (availabilityStartTime + Period start +
   * presentation time).
   */
  function liveLatency() {
    const p = window.player;
    if (!p || video.readyState < 2 || video.paused) return null;
    let atMs = null;
    try {
      if (playerName === 'hls.js') atMs = p.playingDate ? p.playingDate.getTime() : null;
      else if (playerName === 'shaka') atMs = p.getPlayheadTimeAsDate ? p.getPlayheadTimeAsDate()?.getTime() ?? null : null;
      else if (playerName === 'dash.js') atMs = p.isReady && p.isReady() ? p.timeAsUTC() * 1000 : null;
    } catch (e) {
      return null;
    }
    return Number.isFinite(atMs) ? (Date.now() - atMs) / 1000 : null;
  }

  window.playerState = function () {
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
    const buffered = ranges(video.buffered);
    return {
      currentTime: video.currentTime,
      duration: video.duration,
      ended: video.ended,
      paused: video.paused,
      readyState: video.readyState,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
      frames: q ? q.totalVideoFrames : video.webkitDecodedFrameCount,
      droppedFrames: q ? q.droppedVideoFrames : video.webkitDroppedFrameCount,
      corruptedFrames: q && 'corruptedVideoFrames' in q ? q.corruptedVideoFrames : null,
      buffered,
      sourceBuffered: sourceBuffered(),
      startCurrentTime: state.startCurrentTime,
      startWallMs: state.startWallMs,
      nowMs: Date.now(),
      liveLatency: liveLatency(),
      lowLatencyMode: playerName === 'hls.js' && window.player ? window.player.config.lowLatencyMode : null,
      fatal: state.fatal.slice(),
      warnings: state.warnings.slice(-20),
      events: state.events.slice(-30),
      ...(state.log ? { log: state.log } : {}),
    };
  };
})();
