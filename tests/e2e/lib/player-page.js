// Browser side of the player harness (a classic script, loaded by player.html after the
// player libraries). `startPlayer(config)` begins playback; `playerState()` is polled by Node.
/* global Hls, shaka, dashjs */
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

  let playbackRate = 1;
  function playMuted() {
    video.muted = true;
    video.playbackRate = playbackRate;
    const p = video.play();
    if (p && p.catch) p.catch((e) => state.warnings.push(`play(): ${e}`));
  }

  function startHls(url, headers) {
    if (!Hls.isSupported()) throw new Error('hls.js: MSE not supported');
    const hls = new Hls({
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

  async function startShaka(url, headers) {
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
    try {
      await player.load(url);
    } catch (e) {
      state.fatal.push(`shaka load() failed: code ${e.code} ${describe(e.data)}`);
      return;
    }
    note('manifest', player.getVariantTracks().map((t) => `${t.width}x${t.height}@${t.bandwidth}`).join(' '));
    playMuted();
  }

  function startDash(url, headers) {
    const player = dashjs.MediaPlayer().create();
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

  window.startPlayer = async function ({ player, url, headers = {}, rate = 1 }) {
    playbackRate = rate;
    // Players may reset the rate on load: keep asking for it.
    video.addEventListener('playing', () => {
      if (video.playbackRate !== playbackRate) video.playbackRate = playbackRate;
    });
    try {
      if (player === 'hls.js') startHls(url, headers);
      else if (player === 'shaka') {
        // Runs on in the background; its errors land in state.
        startShaka(url, headers).catch((e) => state.fatal.push(`shaka: ${e && (e.message || e.code)}`));
      }
      else if (player === 'dash.js') startDash(url, headers);
      else throw new Error(`unknown player ${player}`);
    } catch (e) {
      state.fatal.push(`start failed: ${e && e.message}`);
    }
  };

  window.playerState = function () {
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
    const buffered = [];
    for (let i = 0; i < video.buffered.length; i++) buffered.push([video.buffered.start(i), video.buffered.end(i)]);
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
      buffered,
      startCurrentTime: state.startCurrentTime,
      startWallMs: state.startWallMs,
      nowMs: Date.now(),
      fatal: state.fatal.slice(),
      warnings: state.warnings.slice(-20),
      events: state.events.slice(-30),
    };
  };
})();
