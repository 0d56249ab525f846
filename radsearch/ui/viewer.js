// The compare viewer: two (or more) radiographs side by side with one window/level, zoom and pan for all.
//
// Pixels arrive as 16-bit grey levels of the whole stored range (zlib, base64), so widening or narrowing
// the window in the browser never runs out of values the way re-windowing an 8-bit picture does.
// Mouse: drag = window (left/right: width, up/down: level); shift-drag, right- or middle-drag = pan;
// wheel = zoom at the pointer; double-click = fit. Keys: Up/Down level, Shift+Up/Down width, 1-9 the
// header's windows, 0 reset, + and - zoom. Left/Right (previous/next result), O (overlay) and T (report)
// belong to the page's buttons, not to this script.
// The state lives on window, so stepping to the next result keeps the reader's window and zoom.

const STORE = (window.__radsearchViewer = window.__radsearchViewer || {});
const MAX_ZOOM = 16;

function decodeBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function inflate(text) {
  const stream = new Blob([decodeBase64(text)]).stream().pipeThrough(new DecompressionStream("deflate"));
  const buffer = await new Response(stream).arrayBuffer();
  return new Uint16Array(buffer);
}

function loadImage(src) {
  return new Promise((resolve) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => resolve(null);
    image.src = src;
  });
}

function typing(event) {
  const target = event.target;
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toLowerCase();
  return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
}

export default function (component) {
  const { data, parentElement } = component;
  const key = data.key || "viewer";
  const start = { centre: data.start.centre, width: data.start.width, zoom: 1, x: 0.5, y: 0.5 };
  const view = (STORE[key] = STORE[key] || { ...start });
  const overlayOn = Boolean(data.overlay);

  parentElement.querySelectorAll(".rs-viewer").forEach((node) => node.remove());
  const root = document.createElement("div");
  root.className = "rs-viewer";
  root.setAttribute("data-testid", "rs-viewer");
  parentElement.appendChild(root);

  const bar = document.createElement("div");
  bar.className = "rs-bar";
  root.appendChild(bar);
  const presets = [{ name: "Full range", centre: 0.5, width: 1.0 }, ...(data.windows || [])];
  presets.forEach((preset, n) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "rs-preset";
    button.textContent = n ? `${n} · ${preset.name}` : "0 · Full range";
    button.title = n ? `The header's window ${n} (key ${n})` : "Every stored value (key 0 also resets zoom)";
    button.addEventListener("click", () => setWindow(preset.centre, preset.width));
    bar.appendChild(button);
  });
  const readout = document.createElement("span");
  readout.className = "rs-readout";
  readout.setAttribute("data-testid", "rs-readout");
  bar.appendChild(readout);

  const row = document.createElement("div");
  row.className = "rs-row";
  root.appendChild(row);
  const panes = (data.panes || []).map((pane) => {
    const box = document.createElement("figure");
    box.className = "rs-pane";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("data-testid", "rs-canvas");
    canvas.setAttribute("aria-label", pane.title);
    const caption = document.createElement("figcaption");
    caption.textContent = pane.title;
    box.appendChild(canvas);
    box.appendChild(caption);
    row.appendChild(box);
    if (!pane.pixels) {  // a text query: its words stand where an image would
      canvas.remove();
      const words = document.createElement("div");
      words.className = "rs-words";
      words.textContent = pane.text || "";
      box.insertBefore(words, caption);
    }
    return { pane, box, canvas: pane.pixels ? canvas : null, values: null, picture: null, overlay: null,
             drawnWindow: null };
  });

  function setWindow(centre, width) {
    view.centre = Math.min(1.5, Math.max(-0.5, centre));
    view.width = Math.min(2, Math.max(0.002, width));
    draw();
  }

  function windowed(item) {
    // one lookup table of 65536 entries per window, then one pass over the pixels
    const { width: w, height: h } = item.pane;
    if (!item.picture) {
      item.picture = document.createElement("canvas");
      item.picture.width = w;
      item.picture.height = h;
    }
    const stamp = `${view.centre}:${view.width}`;
    if (item.drawnWindow === stamp) return item.picture;
    const table = new Uint8ClampedArray(65536);
    const low = (view.centre - view.width / 2) * 65535;
    const scale = 255 / (view.width * 65535);
    for (let v = 0; v < 65536; v++) table[v] = (v - low) * scale;
    const context = item.picture.getContext("2d");
    const image = context.createImageData(w, h);
    const out = image.data;
    const values = item.values;
    for (let i = 0, j = 0; i < values.length; i++, j += 4) {
      const g = table[values[i]];
      out[j] = g; out[j + 1] = g; out[j + 2] = g; out[j + 3] = 255;
    }
    context.putImageData(image, 0, 0);
    item.drawnWindow = stamp;
    return item.picture;
  }

  function layout(item) {
    const { width: w, height: h } = item.pane;
    const cssWidth = Math.max(120, item.box.clientWidth);
    const cssHeight = Math.min(cssWidth * h / w, (window.innerHeight || 900) * 0.68);
    const ratio = window.devicePixelRatio || 1;
    if (item.canvas.width !== Math.round(cssWidth * ratio) || item.canvas.height !== Math.round(cssHeight * ratio)) {
      item.canvas.width = Math.round(cssWidth * ratio);
      item.canvas.height = Math.round(cssHeight * ratio);
      item.canvas.style.width = `${cssWidth}px`;
      item.canvas.style.height = `${cssHeight}px`;
    }
    const fit = Math.min(item.canvas.width / w, item.canvas.height / h);
    return { scale: fit * view.zoom, ratio };
  }

  function draw() {
    for (const item of panes) {
      if (!item.canvas || !item.values) continue;
      const { width: w, height: h } = item.pane;
      const { scale } = layout(item);
      const context = item.canvas.getContext("2d");
      context.setTransform(1, 0, 0, 1, 0, 0);
      context.fillStyle = "#000";
      context.fillRect(0, 0, item.canvas.width, item.canvas.height);
      const dx = item.canvas.width / 2 - view.x * w * scale;
      const dy = item.canvas.height / 2 - view.y * h * scale;
      context.setTransform(scale, 0, 0, scale, dx, dy);
      context.imageSmoothingEnabled = scale < 2;
      context.drawImage(windowed(item), 0, 0);
      if (overlayOn && item.overlay) {
        context.globalAlpha = 0.5;
        context.drawImage(item.overlay, 0, 0, w, h);
        context.globalAlpha = 1;
      }
    }
    const text = `W ${view.width.toFixed(3)} · L ${view.centre.toFixed(3)} · ${view.zoom.toFixed(1)}x`;
    readout.textContent = text + (overlayOn ? " · overlay" : "");
    root.setAttribute("data-window", `${view.centre.toFixed(4)},${view.width.toFixed(4)}`);
    root.setAttribute("data-zoom", view.zoom.toFixed(3));
    root.setAttribute("data-pan", `${view.x.toFixed(4)},${view.y.toFixed(4)}`);
  }

  function zoomAt(factor, item, clientX, clientY) {
    const before = view.zoom;
    view.zoom = Math.min(MAX_ZOOM, Math.max(1, view.zoom * factor));
    if (item && clientX !== undefined) {  // keep the point under the pointer where it is
      const rect = item.canvas.getBoundingClientRect();
      const { width: w, height: h } = item.pane;
      const { ratio } = layout(item);
      const fit = Math.min(item.canvas.width / w, item.canvas.height / h);
      const px = (clientX - rect.left) * ratio - item.canvas.width / 2;
      const py = (clientY - rect.top) * ratio - item.canvas.height / 2;
      view.x += px / (w * fit) * (1 / before - 1 / view.zoom);
      view.y += py / (h * fit) * (1 / before - 1 / view.zoom);
    }
    if (view.zoom === 1) { view.x = 0.5; view.y = 0.5; }
    draw();
  }

  for (const item of panes) {
    if (!item.canvas) continue;
    let drag = null;
    item.canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    item.canvas.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, y: event.clientY, pan: event.shiftKey || event.button !== 0 };
      item.canvas.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    item.canvas.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      drag.x = event.clientX;
      drag.y = event.clientY;
      if (drag.pan) {
        const { width: w, height: h } = item.pane;
        const { scale, ratio } = layout(item);
        view.x -= dx * ratio / (w * scale);
        view.y -= dy * ratio / (h * scale);
        draw();
      } else {
        setWindow(view.centre - dy * 0.002, view.width * Math.exp(dx * 0.004));
      }
    });
    const stop = () => { drag = null; };
    item.canvas.addEventListener("pointerup", stop);
    item.canvas.addEventListener("pointercancel", stop);
    item.canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoomAt(Math.exp(-event.deltaY * 0.0015), item, event.clientX, event.clientY);
    }, { passive: false });
    item.canvas.addEventListener("dblclick", () => { view.zoom = 1; view.x = 0.5; view.y = 0.5; draw(); });
  }

  function onKey(event) {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const step = 0.02;
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      const sign = event.key === "ArrowUp" ? 1 : -1;
      if (event.shiftKey) setWindow(view.centre, view.width * Math.exp(sign * 0.1));
      else setWindow(view.centre + sign * step, view.width);
    } else if (/^[0-9]$/.test(event.key)) {
      const n = Number(event.key);
      if (n === 0) {
        Object.assign(view, start);
        draw();
      } else if (n < presets.length) {
        setWindow(presets[n].centre, presets[n].width);
      } else {
        return;
      }
    } else if (event.key === "+" || event.key === "=") {
      zoomAt(1.25);
    } else if (event.key === "-") {
      zoomAt(0.8);
    } else {
      return;
    }
    event.preventDefault();
  }
  document.addEventListener("keydown", onKey);
  const onResize = () => draw();
  window.addEventListener("resize", onResize);

  Promise.all(panes.map(async (item) => {
    if (!item.canvas) return;
    item.values = await inflate(item.pane.pixels);
    if (item.pane.overlay) item.overlay = await loadImage(`data:image/png;base64,${item.pane.overlay}`);
  })).then(() => {
    draw();
    root.setAttribute("data-ready", "true");
  });

  return () => {
    document.removeEventListener("keydown", onKey);
    window.removeEventListener("resize", onResize);
  };
}
