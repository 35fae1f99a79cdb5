// The frame strip of the window picker: frames of the chosen window, drawn by seeking a
// hidden <video> and copying it to <canvas>. A remote URL that the browser may not read
// back (no CORS) gets small paused <video> elements instead, or a plain sentence.

import { el, fill, seconds } from "./dom.js";

export const STRIP_FRAMES = 6;
const SEEK_TIMEOUT_MS = 5000;
const FRAME_WIDTH = 160;
const SEEK_TOLERANCE = 0.05;

/** Times spread over [start, end]: the middle of each of `count` equal parts. */
export function frameTimes(start, end, count = STRIP_FRAMES) {
  const step = (end - start) / count;
  return Array.from({ length: count }, (_, i) => start + step * (i + 0.5));
}

/** A hidden video to draw frames from; one seek at a time. */
export class FrameReader {
  constructor(src, { crossOrigin = null } = {}) {
    this.video = el("video", {
      class: "offscreen",
      muted: true,
      preload: "auto",
      playsinline: true,
    });
    if (crossOrigin) this.video.crossOrigin = crossOrigin;
    this.ready = new Promise((resolve, reject) => {
      this.video.addEventListener("loadeddata", resolve, { once: true });
      this.video.addEventListener("error", () => reject(new Error("cannot play")), { once: true });
    });
    this.ready.catch(() => {}); // looked at when a strip is drawn
    this.turn = Promise.resolve();
    this.video.src = src;
    document.body.append(this.video);
  }

  seek(time) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.video.removeEventListener("seeked", done);
        resolve();
      };
      const timer = setTimeout(done, SEEK_TIMEOUT_MS);
      this.video.addEventListener("seeked", done);
      this.video.currentTime = time;
    });
  }

  /** Draw the frame at `time`; throws a SecurityError when the canvas cannot be read back. */
  async draw(time, canvas) {
    await this.seek(Math.min(time, Math.max(0, this.video.duration - 0.01)));
    const { videoWidth, videoHeight } = this.video;
    canvas.width = FRAME_WIDTH;
    canvas.height = Math.max(1, Math.round((FRAME_WIDTH * videoHeight) / Math.max(1, videoWidth)));
    const context = canvas.getContext("2d");
    context.drawImage(this.video, 0, 0, canvas.width, canvas.height);
    context.getImageData(0, 0, 1, 1); // a tainted canvas refuses this
    canvas.dataset.drawn = "true";
  }

  /** Run `work` after every earlier one: seeks of two strips must not interleave. */
  exclusive(work) {
    const run = this.turn.then(work);
    this.turn = run.catch(() => {});
    return run;
  }

  close() {
    this.video.removeAttribute("src");
    this.video.load();
    this.video.remove();
  }
}

function frameFigure(time, media) {
  return el("figure", { class: "frame" }, media, el("figcaption", { text: `${seconds(time)} s` }));
}

/** Canvases drawn from `reader`; stops when `current()` turns false (a newer strip began). */
export function canvasStrip(strip, reader, times, current) {
  const canvases = times.map((time) =>
    el("canvas", { testid: "frame", width: String(FRAME_WIDTH), height: "90", dataset: { time } }),
  );
  fill(strip, times.map((time, i) => frameFigure(time, canvases[i])));
  return reader.exclusive(async () => {
    await reader.ready;
    for (const [i, time] of times.entries()) {
      if (!current()) return;
      await reader.draw(time, canvases[i]);
    }
  });
}

/** Small paused videos, one per time: needs no canvas, so works for any playable URL. */
export function videoStrip(strip, url, times) {
  const videos = times.map((time) => {
    const video = el("video", {
      testid: "frame",
      class: "frame-video",
      muted: true,
      preload: "auto",
      playsinline: true,
      dataset: { time },
    });
    // A server without Range support lets the first download be seeked nowhere; once the
    // file is in the browser's cache a reload can be. Three tries at most.
    let attempts = 0;
    const settle = () => {
      if (Math.abs(video.currentTime - time) <= SEEK_TOLERANCE) {
        video.dataset.drawn = "true";
        return;
      }
      attempts += 1;
      if (attempts > 3) return;
      const { seekable } = video;
      if (seekable.length && seekable.end(seekable.length - 1) >= time) video.currentTime = time;
      else video.load();
    };
    video.addEventListener("canplaythrough", settle);
    video.addEventListener("seeked", settle);
    video.addEventListener("error", () => {
      if (video.isConnected) unavailable(strip, "the browser cannot load this URL");
    }, { once: true });
    video.src = `${url.split("#")[0]}#t=${time.toFixed(3)}`;
    return video;
  });
  fill(strip, times.map((time, i) => frameFigure(time, videos[i])));
}

export function unavailable(strip, why) {
  fill(
    strip,
    el("p", {
      class: "hint",
      testid: "frame-strip-unavailable",
      text: `No preview: ${why}. The server reads the video itself, so creating still works.`,
    }),
  );
}
