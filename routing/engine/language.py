"""Which language a query is written in, offline, in well under a millisecond.

The detector is `lingua-language-detector` (its n-gram models ship inside the wheel; nothing is
downloaded) restricted to DETECTED_LANGUAGES in low-accuracy mode (trigrams only: ~18 MB of RSS
instead of ~130 MB, ~40 us per query). Low-accuracy mode alone calls 0.7% of short English
queries German or French ("can you find my cellphone" -> German 0.97), so two cheap rules settle it:

1. The detector's answer counts only at confidence >= LANGUAGE_CONFIDENCE.
2. A foreign answer needs one of that language's function words or MIN_WORDS_WITHOUT_FUNCTION_WORDS
   words ("spell potato" is not Italian, "bonjour" alone is left undetermined).
3. Function words decide against it: a query with more English function words
   ("you", "my", "the", ...) than function words of the detected language is English.

A query the rules cannot settle (too short, a product name) is undetermined (""), which routes
as before: only a confidently foreign query changes a decision.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import regex

DETECTED_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl")
LANGUAGE_CONFIDENCE = 0.9
# Characters read: the start of a long message says its language as well as the whole of it.
LANGUAGE_SAMPLE_CHARS = 300
MIN_WORDS_WITHOUT_FUNCTION_WORDS = 4

# Closed-class words, lowercase; a word listed for two languages counts for both.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the a an my your you i me we our is are was were do does did to of for in on at with "
        "and or but not can could would should will it this that what why how where when "
        "please there have has".split()
    ),
    "es": frozenset(
        "el la los las un una mi mis tu su de del en con por para que qué es está son y o pero "
        "no quiero necesito puedo cómo como dónde donde cuándo por qué hola gracias mí me lo al "
        "muy ya también".split()
    ),
    "fr": frozenset(
        "le la les un une des mon ma mes ton ta votre vos je tu il nous vous est sont et ou mais "
        "ne pas de du au aux en avec pour que qui où comment pourquoi bonjour merci veux "
        "voudrais puis ai suis ce cette".split()
    ),
    "de": frozenset(
        "der die das den dem ein eine einen mein meine meinen ich du sie wir ist sind und oder "
        "aber nicht kein keine mit für von zu auf wie wo warum wann bitte danke kann möchte "
        "will habe mich mir es was wer wie".split()
    ),
    "pt": frozenset(
        "o a os as um uma meu minha meus seu sua de do da dos das em no na com por para que é "
        "são e ou mas não quero preciso posso como onde quando porque olá obrigado obrigada "
        "você eu me".split()
    ),
    "it": frozenset(
        "il lo la gli le un una mio mia di del della in con per che è sono e o ma non voglio "
        "posso come dove quando perché ciao grazie io mi".split()
    ),
    "nl": frozenset(
        "de het een mijn jouw ik jij wij is zijn en of maar niet geen met voor van te op hoe "
        "waar waarom wanneer alstublieft dank kan wil heb mij".split()
    ),
}
_WORD = regex.compile(r"[\p{L}']+")


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    code: str  # ISO 639-1 ("en", "de", ...), or "" when undetermined
    confidence: float  # the detector's, 0.0 when undetermined
    reason: str = ""  # why, for the trace


_detector = None
_detector_lock = threading.Lock()


def _build_detector():
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
        for code in DETECTED_LANGUAGES
    ]
    return (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )


def language_detector():
    """The process-wide detector, built on first use with its models loaded (about 0.4 s)."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = _build_detector()
    return _detector


def function_word_counts(text: str) -> dict[str, int]:
    """How many words of `text` are function words of each language in FUNCTION_WORDS."""
    words = [word.lower() for word in _WORD.findall(text)]
    return {
        code: sum(word in vocabulary for word in words)
        for code, vocabulary in FUNCTION_WORDS.items()
    }


def detect_language(text: str) -> LanguageGuess:
    """The language of `text` by the rules in the module docstring ("" when undetermined)."""
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    values = language_detector().compute_language_confidence_values(sample)
    if not values:
        return LanguageGuess("", 0.0, "no letters")
    top = values[0]
    code = top.language.iso_code_639_1.name.lower()
    confidence = float(top.value)
    if code == "en":
        return LanguageGuess("en", confidence, "detector")
    counts = function_word_counts(sample)
    words = len(_WORD.findall(sample))
    if counts["en"] > counts[code]:
        return LanguageGuess(
            "en", confidence, f"{counts['en']} English function words > {counts[code]} {code}"
        )
    if confidence >= LANGUAGE_CONFIDENCE and (
        counts[code] or words >= MIN_WORDS_WITHOUT_FUNCTION_WORDS
    ):
        return LanguageGuess(code, confidence, "detector")
    if counts[code] >= 2 and counts[code] > max(
        count for other, count in counts.items() if other != code
    ):
        return LanguageGuess(code, confidence, f"{counts[code]} {code} function words")
    return LanguageGuess("", confidence, f"undetermined (best {code} {confidence:.2f})")


def encoder_languages(encoder) -> frozenset[str] | None:
    """The languages an encoder declares (`languages` attribute); None: it covers any language."""
    declared = getattr(encoder, "languages", None)
    return None if declared is None else frozenset(declared)


def language_covered(code: str, languages: frozenset[str] | None) -> bool:
    """Whether an encoder covering `languages` can embed a query in `code` ("" always can)."""
    return not code or languages is None or code in languages
