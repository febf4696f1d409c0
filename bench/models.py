"""The default model set of bench/bench_models.py, as data, and the code that makes its inputs.

Every model is a short name, its path under the models folder (scripts/fetch_models.sh prints
it; $ANVIL_CACHE/models by default) and one Input per graph input: the concrete shape (dynamic
dims fixed to the values a real application feeds), the dtype, and how realistic values are
made. All values come from one numpy Generator seeded with SEED (each model gets its own
stream, so selecting a subset with --models does not change a model's inputs).

Value kinds:
  image    a synthetic 8-bit picture (scene "text_page", "text_line" or "face"), normalized as
           the model's own pre-processing does: (x/255 - mean) / std per channel; layout NCHW
           or NHWC.
  audio    speech-like 16 kHz audio (a gliding voiced source with formants, syllable envelope
           and a noise floor) filling the shape, scaled to a peak of `peak` (1.0-scale floats
           for Silero, int16-scale floats for openWakeWord); with chunk=True one Silero call's
           input from the middle of a 1 s utterance: the 64 samples before the chunk (the
           context that Silero's own wrapper and vad-web prepend) and the 512 new samples.
  const    the constant `value` (Silero's sample rate).
  vad_state  the LSTM state after running the same VAD model (ORT CPU EP) over the 8 chunks
           of the utterance that precede the timed chunk (each with its 64 samples of context):
           what a streaming caller passes.
  oww_mel_windows  openWakeWord's embedding input: its mel front end run (ORT CPU EP) on
           speech-like int16-scale audio, scaled as openWakeWord does (mel / 10 + 2), cut into
           `count` windows of 76 frames with a stride of 8 frames (80 ms).
  oww_embeddings  a wake-word head's input: `count` consecutive 96-dim embeddings (embedding
           model run on consecutive mel windows), i.e. the last count * 80 ms of audio.
The chained kinds need onnxruntime (CPU EP only) in the process that makes the inputs.
"""
from dataclasses import dataclass, field
import os
import zlib

import numpy as np

SEED = 20240611
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)
SR = 16000
VAD_CONTEXT = 64  # samples of the previous chunk that Silero v5/v6 callers prepend at 16 kHz


@dataclass(frozen=True)
class Input:
    name: str
    shape: tuple
    dtype: str = "float32"
    kind: str = "normal"
    args: dict = field(default_factory=dict)

    def describe(self):
        dims = "x".join(str(d) for d in self.shape) if self.shape else "scalar"
        extra = ", ".join(f"{k}={v}" for k, v in self.args.items() if k not in ("mean", "std"))
        norm = ""
        if "mean" in self.args:
            norm = f", (x/255-{_short(self.args['mean'])})/{_short(self.args['std'])}"
        return f"{self.name} {self.dtype}[{dims}] {self.kind}({extra}{norm})"


def _short(v):
    return str(v[0]) if len(set(v)) == 1 else "(" + ",".join(str(x) for x in v) + ")"


@dataclass(frozen=True)
class Model:
    name: str
    path: str  # relative to the models folder
    inputs: tuple
    about: str
    default: bool = True


def _oww_head(name, file, input_name, count, about, default):
    return Model(name, f"openwakeword/{file}",
                 (Input(input_name, (1, count, 96), kind="oww_embeddings", args=dict(count=count)),),
                 about, default)


MODELS = [
    Model("det", "paddleocr/ch_PP-OCRv4_det_infer.onnx",
          (Input("x", (1, 3, 640, 640), kind="image",
                 args=dict(scene="text_page", layout="NCHW", mean=IMAGENET_MEAN, std=IMAGENET_STD)),),
          "PaddleOCR v4 text detection (DB), one 640x640 page"),
    Model("rec", "paddleocr/ch_PP-OCRv4_rec_infer.onnx",
          (Input("x", (1, 3, 48, 320), kind="image",
                 args=dict(scene="text_line", layout="NCHW", mean=HALF, std=HALF)),),
          "PaddleOCR v4 text recognition (SVTR-LCNet), one 48x320 text line"),
    Model("cls", "paddleocr/ch_ppocr_mobile_v2.0_cls_infer.onnx",
          (Input("x", (1, 3, 48, 192), kind="image",
                 args=dict(scene="text_line", layout="NCHW", mean=HALF, std=HALF)),),
          "PaddleOCR v2.0 text-direction classifier, one 48x192 text line"),
    Model("face_back", "blazeface/face_detection_back_256x256_barracuda.onnx",
          (Input("input:0", (1, 256, 256, 3), kind="image",
                 args=dict(scene="face", layout="NHWC", mean=HALF, std=HALF)),),
          "MediaPipe BlazeFace back-camera (full range) detector, 256x256 RGB in [-1,1]"),
    Model("face_front", "blazeface/face_detection_front_128x128_barracuda.onnx",
          (Input("input:0", (1, 128, 128, 3), kind="image",
                 args=dict(scene="face", layout="NHWC", mean=HALF, std=HALF)),),
          "MediaPipe BlazeFace front-camera (short range) detector, 128x128 RGB in [-1,1]"),
    Model("vad5", "silero_vad/silero_vad_v5.onnx",
          (Input("input", (1, 576), kind="audio", args=dict(peak=0.5, chunk=True)),
           Input("state", (2, 1, 128), kind="vad_state", args=dict(chunks=8)),
           Input("sr", (), dtype="int64", kind="const", args=dict(value=SR))),
          "Silero VAD v5, one 32 ms chunk (512 new samples at 16 kHz after 64 of context) with its "
          "streaming state"),
    Model("vad6", "silero_vad/silero_vad_v6.onnx",
          (Input("input", (1, 576), kind="audio", args=dict(peak=0.5, chunk=True)),
           Input("state", (2, 1, 128), kind="vad_state", args=dict(chunks=8)),
           Input("sr", (), dtype="int64", kind="const", args=dict(value=SR))),
          "Silero VAD v6, one 32 ms chunk (512 new samples at 16 kHz after 64 of context) with its "
          "streaming state"),
    Model("oww_mel", "openwakeword/melspectrogram.onnx",
          (Input("input", (1, SR), kind="audio", args=dict(peak=16000.0)),),
          "openWakeWord mel-spectrogram front end, 1 s of 16 kHz int16-scale audio -> 97x32 mel"),
    Model("oww_emb", "openwakeword/embedding_model.onnx",
          (Input("input_1", (1, 76, 32, 1), kind="oww_mel_windows", args=dict(count=1)),),
          "openWakeWord speech embedding, one window of 76 mel frames (as streamed every 80 ms)"),
    _oww_head("oww_jarvis", "hey_jarvis_v0.1.onnx", "x.1", 16,
              "openWakeWord 'hey jarvis' head, 16 embeddings (1.28 s)", True),
    _oww_head("oww_timer", "timer_v0.1.onnx", "onnx::Flatten_0", 34,
              "openWakeWord timer-intent head (7 classes), 34 embeddings", True),
    _oww_head("oww_alexa", "alexa_v0.1.onnx", "onnx::Flatten_0", 16, "openWakeWord 'alexa' head", False),
    _oww_head("oww_mycroft", "hey_mycroft_v0.1.onnx", "onnx::Flatten_0", 16, "openWakeWord 'hey mycroft' head", False),
    _oww_head("oww_rhasspy", "hey_rhasspy_v0.1.onnx", "onnx::Flatten_0", 16, "openWakeWord 'hey rhasspy' head", False),
    _oww_head("oww_weather", "weather_v0.1.onnx", "onnx::Flatten_0", 22, "openWakeWord weather-intent head", False),
]
BY_NAME = {m.name: m for m in MODELS}
DEFAULT = [m.name for m in MODELS if m.default]


def models_dir():
    cache = os.environ.get("ANVIL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "anvil")
    return os.environ.get("ANVIL_MODELS") or os.path.join(cache, "models")


def rng_for(model_name):
    """The generator of one model's inputs: SEED and a stable hash of the model's name."""
    return np.random.default_rng([SEED, zlib.crc32(model_name.encode())])


# ---- synthetic pictures -------------------------------------------------------------------

def _smooth(rng, h, w, cells=6):
    """Low-frequency noise in [0, 1]: a coarse random grid, bilinearly upsampled."""
    g = rng.random((cells + 1, cells + 1))
    ys, xs = np.linspace(0, cells, h), np.linspace(0, cells, w)
    y0, x0 = np.minimum(ys.astype(int), cells - 1), np.minimum(xs.astype(int), cells - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    a, b = g[y0][:, x0], g[y0][:, x0 + 1]
    c, d = g[y0 + 1][:, x0], g[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _glyphs(rng, img, y0, y1, x0, x1, ink):
    """Dark strokes that look like a line of printed characters between rows y0..y1."""
    hgt = y1 - y0
    x = x0
    while x < x1 - hgt:
        cw = int(hgt * rng.uniform(0.5, 1.0))
        if rng.random() < 0.12:  # a space between words
            x += cw // 2 + 1
            continue
        sw = max(1, hgt // 9)
        for _ in range(rng.integers(2, 5)):
            if rng.random() < 0.5:  # vertical stroke
                sx = x + rng.integers(0, max(1, cw - sw))
                a, b = sorted(rng.integers(y0, y1, 2))
                img[a:max(b, a + hgt // 3), sx:sx + sw] = ink
            else:  # horizontal stroke
                sy = rng.integers(y0, max(y0 + 1, y1 - sw))
                a, b = sorted(rng.integers(x, x + cw, 2))
                img[sy:sy + sw, a:max(b, a + cw // 3)] = ink
        x += cw + max(1, hgt // 8)


def _picture(rng, scene, h, w):
    """An HxWx3 uint8 RGB picture."""
    tint = rng.uniform(0.85, 1.0, 3)
    if scene in ("text_page", "text_line"):
        paper = 175 + 70 * _smooth(rng, h, w, 3)
        img = (paper[..., None] * tint).astype(np.float32)
        ink = rng.uniform(10, 70, 3)
        if scene == "text_line":
            _glyphs(rng, img, int(h * 0.2), int(h * 0.8), int(w * 0.03), int(w * 0.97), ink)
        else:
            y = int(h * 0.06)
            while y < h * 0.92:
                lh = int(rng.integers(max(8, h // 64), max(9, h // 28)))
                x0 = int(rng.integers(w // 30, w // 6))
                x1 = int(w - rng.integers(w // 30, w // 3))
                _glyphs(rng, img, y, y + lh, x0, x1, ink)
                y += int(lh * rng.uniform(1.6, 2.6))
    elif scene == "face":
        bg = _smooth(rng, h, w, 4)[..., None] * rng.uniform(60, 200, 3)
        img = bg.astype(np.float32) + 30
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cy, cx = h * rng.uniform(0.4, 0.6), w * rng.uniform(0.4, 0.6)
        ry, rx = h * rng.uniform(0.2, 0.3), w * rng.uniform(0.15, 0.22)
        face = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        skin = np.array([224, 172, 140]) * rng.uniform(0.6, 1.05)
        shade = 0.8 + 0.2 * _smooth(rng, h, w, 3)
        img[face] = (skin * shade[face][:, None]).astype(np.float32)
        for dx in (-0.4, 0.4):  # eyes
            e = ((yy - (cy - ry * 0.2)) / (ry * 0.08)) ** 2 + ((xx - (cx + rx * dx)) / (rx * 0.18)) ** 2 < 1
            img[e] = 40
        m = ((yy - (cy + ry * 0.45)) / (ry * 0.07)) ** 2 + ((xx - cx) / (rx * 0.35)) ** 2 < 1
        img[m] = (120, 50, 50)
    else:
        raise ValueError(f"unknown scene {scene}")
    img += rng.normal(0, 3.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _image(rng, shape, a):
    if a.get("layout", "NCHW") == "NHWC":
        n, h, w, c = shape
    else:
        n, c, h, w = shape
    pics = np.stack([_picture(rng, a["scene"], h, w) for _ in range(n)]).astype(np.float32) / 255.0
    pics = (pics - np.asarray(a["mean"], np.float32)) / np.asarray(a["std"], np.float32)
    return pics if a.get("layout") == "NHWC" else pics.transpose(0, 3, 1, 2)


# ---- synthetic speech ---------------------------------------------------------------------

def speech_like(rng, n, peak):
    """n samples of 16 kHz speech-like audio: a voiced source gliding around 110-220 Hz,
    harmonics shaped by three slowly moving formants, a syllable-rate envelope with short
    pauses, some breath noise, and a low noise floor; peak-normalized to `peak`."""
    t = np.arange(n) / SR
    f0 = rng.uniform(110, 180) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    formants = [(rng.uniform(400, 800), 1.0, 0.7), (rng.uniform(1100, 1900), 0.6, 1.3),
                (rng.uniform(2300, 3000), 0.3, 0.9)]
    sig = np.zeros(n)
    for k in range(1, 30):
        fk = k * f0
        amp = np.zeros(n)
        for fc, gain, rate in formants:
            centre = fc * (1 + 0.2 * np.sin(2 * np.pi * rate * t))
            amp += gain * np.exp(-(((fk - centre) / 180.0) ** 2))
        sig += amp * np.sin(k * phase) * (fk < 7000)
    rate = rng.uniform(3.5, 5.0)  # syllables per second
    env = np.clip(np.sin(np.pi * rate * t + rng.uniform(0, 3)), 0, None) ** 0.7
    env *= 0.6 + 0.4 * _smooth(rng, 1, n, max(2, int(n / SR * 3)))[0]
    noise = rng.standard_normal(n)
    sig = sig * env + 0.05 * noise * env + 0.003 * noise
    return (sig / np.max(np.abs(sig)) * peak).astype(np.float32)


# ---- chained inputs (run earlier models of the pipeline on the ORT CPU EP) -----------------

def _cpu_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def _oww_mel_frames(rng, frames, folder):
    """`frames` mel frames of openWakeWord's front end on speech-like int16-scale audio,
    scaled as openWakeWord does (x / 10 + 2): [frames, 32]."""
    samples = (frames - 1) * 160 + 512
    audio = speech_like(rng, samples, 16000.0)[None, :]
    mel = _cpu_session(os.path.join(folder, "openwakeword/melspectrogram.onnx")).run(None, {"input": audio})[0]
    return (mel[0, 0] / 10.0 + 2.0)[:frames].astype(np.float32)


def _oww_windows(rng, count, folder):
    mel = _oww_mel_frames(rng, 76 + 8 * (count - 1), folder)
    return np.stack([mel[8 * i:8 * i + 76] for i in range(count)])[..., None]  # [count,76,32,1]


def _vad_state(model_path, audio, chunks):
    """Silero's LSTM state after streaming the last `chunks` x 512 samples of `audio` through
    the model, each call with the 64 samples before its chunk as context."""
    s = _cpu_session(model_path)
    state = np.zeros((2, 1, 128), np.float32)
    sr = np.array(SR, np.int64)
    first = len(audio) - 512 * chunks
    for i in range(chunks):
        a = first + 512 * i
        x = audio[None, max(0, a - VAD_CONTEXT):a + 512]
        if x.shape[1] < 512 + VAD_CONTEXT:  # the stream's start: zeros as context
            x = np.pad(x, ((0, 0), (512 + VAD_CONTEXT - x.shape[1], 0)))
        state = s.run(None, {"input": x, "state": state, "sr": sr})[1]
    return state


def make_inputs(model, folder=None):
    """{input name: numpy array} for one Model, deterministic."""
    folder = folder or models_dir()
    rng = rng_for(model.name)
    feeds = {}
    utterance = None  # the audio a VAD chunk was cut from; its state streams what came before
    for inp in model.inputs:
        a = inp.args
        if inp.kind == "image":
            v = _image(rng, inp.shape, a)
        elif inp.kind == "audio":
            n = int(np.prod(inp.shape))
            if a.get("chunk"):  # context + a chunk from the middle of a 1 s utterance
                utterance = speech_like(rng, SR, a["peak"])
                start = SR // 2
                v = utterance[start - VAD_CONTEXT:start - VAD_CONTEXT + n]
            else:
                v = speech_like(rng, n, a["peak"])
            v = v.reshape(inp.shape)
        elif inp.kind == "const":
            v = np.full(inp.shape, a["value"])
        elif inp.kind == "vad_state":
            v = _vad_state(os.path.join(folder, model.path), utterance[:SR // 2], a["chunks"])
        elif inp.kind == "oww_mel_windows":
            v = _oww_windows(rng, a["count"], folder)
        elif inp.kind == "oww_embeddings":
            windows = _oww_windows(rng, a["count"], folder)
            emb = _cpu_session(os.path.join(folder, "openwakeword/embedding_model.onnx"))
            v = emb.run(None, {"input_1": windows})[0].reshape(1, a["count"], 96)
        elif inp.kind == "normal":
            v = rng.standard_normal(inp.shape)
        else:
            raise ValueError(f"{model.name}: unknown input kind {inp.kind}")
        feeds[inp.name] = np.asarray(v).astype(inp.dtype).reshape(inp.shape).copy(order="C")
    return feeds


def random_inputs(session_inputs, shapes, seed=SEED):
    """Inputs for a model outside the set: `session_inputs` from onnxruntime's get_inputs(),
    `shapes` {name: tuple} overrides; other dynamic dims are 1. Floats: uniform in [-1, 1),
    integers in [0, 10), booleans at random."""
    rng = np.random.default_rng(seed)
    types = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
             "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
             "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_}
    feeds = {}
    for i in session_inputs:
        shape = shapes.get(i.name) or tuple(d if isinstance(d, int) and d > 0 else 1 for d in i.shape)
        dt = types.get(i.type)
        if dt is None:
            raise ValueError(f"input {i.name}: unsupported type {i.type}")
        if dt == np.bool_:
            v = rng.random(shape) < 0.5
        elif np.issubdtype(dt, np.integer):
            v = rng.integers(0, 10, shape)
        else:
            v = rng.uniform(-1, 1, shape)
        feeds[i.name] = np.asarray(v).astype(dt).copy(order="C")
    return feeds
