// The time-shift suites on one live recording (timeshift/recording.js: ffmpeg pushes 40 s once,
// instead of once per suite): vodend windows on HLS (TS) and HLS-CMAF, vodend and offset on
// DASH, clip.mp4, harvest jobs. Each suite is a file in timeshift/ and runs alone too
// (`node --test e2e/timeshift/clip.js`).
import './timeshift/clip.js';
import './timeshift/dash.js';
import './timeshift/harvest.js';
import './timeshift/hls.js';
