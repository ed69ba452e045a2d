"""Extraction of code and JSON from model replies, on a corpus of replies shaped like real models' answers."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ConfigSpace import ConfigurationSpace

from automl.writers.extract import ReplyError, extract_code, extract_json

REPLIES = Path(__file__).parent / "fixtures" / "replies"
TRAIN_SIGNATURE = "def train(cfg, dataset, seed, budget=None, model_dir=None):"


@dataclass(frozen=True)
class Code:
    """What the module extracted from a reply must look like."""

    required: str
    defines: frozenset[str]
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fails:
    """The reply must be refused, with a message that mentions each fragment."""

    required: str | None  # None: the reply is asked for JSON
    fragments: tuple[str, ...]


CODE = {
    "gpt4o_train_chatty.txt": Code(
        "train", frozenset({"train"}), present=("HistGradientBoostingClassifier(",), absent=("How it works", "Let me")
    ),
    "claude_train_imports_separate.txt": Code(
        "train",
        frozenset({"train"}),
        present=("import joblib\n", "from sklearn.metrics import log_loss\n", "N_JOBS = 1  # the runner"),
        absent=("A few notes",),
    ),
    "llama_train_first_then_corrected.txt": Code(
        "train", frozenset({"train"}), present=("log_loss(", "StandardScaler()"), absent=("accuracy_score",)
    ),
    "qwen_train_unfenced.txt": Code(
        "train", frozenset({"train"}), present=("ExtraTreesRegressor(",), absent=("Sure, here", "The function returns")
    ),
    "deepseek_train_main_script.txt": Code(
        "train",
        frozenset({"train", "_preprocessor"}),
        present=('"""Train a k-nearest-neighbours', 'DATA_PATH = "data.csv"  # only used', "DEFAULT_CFG = {"),
        absent=("__main__", "read_csv", "train_test_split(df", "print(", "dataset = {"),
    ),
    "gpt4o_train_cut_off_after_train.txt": Code(
        "train", frozenset({"train"}), present=("SVC(C=cfg",), absent=("__main__", "read_csv")
    ),
    "mistral_train_tilde_fences.txt": Code(
        "train", frozenset({"train"}), present=("\tencoder = make_column_transformer(",), absent=("~~~",)
    ),
    "qwen_train_bash_then_code.txt": Code(
        "train", frozenset({"train"}), present=("Ridge(alpha=",), absent=("pip install", "python -c")
    ),
    "claude_configspace.txt": Code(
        "get_configspace",
        frozenset({"get_configspace"}),
        present=("EqualsCondition(C, algorithm",),
        absent=("sample_configuration", "print("),
    ),
    "deepseek_train_thinking.txt": Code(
        "train", frozenset({"train"}), present=("RandomForestClassifier(",), absent=("<think>", "Let me")
    ),
    "mistral_train_indented_fence.txt": Code(
        "train", frozenset({"train"}), present=("# SMAC calls this once per trial.\ndef train(",), absent=("Steps",)
    ),
}

JSON = {
    "gpt4o_plan_json_fenced.txt": {"facade": "multi_fidelity", "budget_kind": "n_estimators", "max_budget": 400},
    "llama_plan_json_comments.txt": {
        "facade": "hyperband",
        "min_budget": 0.1,
        "use_early_stopping": True,
        "notes": None,
    },
    "qwen_plan_json_unfenced.txt": {"facade": "hpo", "budget_kind": None, "min_budget": None},
    "claude_plan_json_two_blocks.txt": {"facade": "hpo", "max_budget": None},
}

FAILS = {
    "claude_refusal_no_code.txt": Fails("train", ("defines `train()` at module level", "```python")),
    "gpt4o_train_syntax_error.txt": Fails("train", ("line 8 of the code", "expected ':'", "def train(cfg, dataset")),
    "llama_train_cut_off_mid_function.txt": Fails("train", ("breaks off", "rmse = mean_squared_error(")),
    "deepseek_plan_json_broken.txt": Fails(None, ("line 2 column 3", "'facade': 'multi_fidelity'", "double-quoted")),
}


def _reply(name: str) -> str:
    return (REPLIES / name).read_text(encoding="utf-8")


def _top_level_functions(source: str) -> set[str]:
    tree = ast.parse(source)
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def _assert_importable_without_work(source: str, required: str) -> dict[str, Any]:
    """The module parses, has no statement that does work at import, and importing it binds `required`."""
    tree = ast.parse(source)
    for node in tree.body[1:]:
        assert not isinstance(node, ast.Expr), ast.unparse(node)
        assert not isinstance(node, ast.For | ast.While | ast.With | ast.If), ast.unparse(node)
        if isinstance(node, ast.Assign | ast.AnnAssign) and not isinstance(node.value, ast.Lambda):
            assert not any(isinstance(child, ast.Call) for child in ast.walk(node)), ast.unparse(node)
    namespace: dict[str, Any] = {"__name__": "extracted"}
    exec(compile(source, "extracted.py", "exec"), namespace)  # our own fixture code: imports and definitions only
    assert callable(namespace[required])
    return namespace


# --- the corpus ---------------------------------------------------------------------------------------------


def test_every_fixture_has_an_expected_outcome() -> None:
    files = {path.name for path in REPLIES.glob("*.txt")}
    assert len(files) >= 14
    assert files == set(CODE) | set(JSON) | set(FAILS)


@pytest.mark.parametrize("name", sorted(CODE))
def test_code_replies(name: str) -> None:
    expected = CODE[name]
    source = extract_code(_reply(name), expected.required)
    assert _top_level_functions(source) == expected.defines
    assert source.endswith("\n") and not source.endswith("\n\n") and not source.startswith("\n")
    for fragment in expected.present:
        assert fragment in source
    for fragment in expected.absent:
        assert fragment not in source
    _assert_importable_without_work(source, expected.required)


def test_train_replies_keep_the_contract_signature() -> None:
    for name, expected in CODE.items():
        if expected.required == "train":
            assert TRAIN_SIGNATURE in extract_code(_reply(name), "train"), name


def test_the_config_space_reply_builds_a_conditional_space() -> None:
    namespace = _assert_importable_without_work(
        extract_code(_reply("claude_configspace.txt"), "get_configspace"), "get_configspace"
    )
    space = namespace["get_configspace"]()
    assert isinstance(space, ConfigurationSpace)
    assert len(list(space.values())) == 6
    assert len(space.conditions) == 5


@pytest.mark.parametrize("name", sorted(JSON))
def test_json_replies(name: str) -> None:
    plan = extract_json(_reply(name))
    assert set(plan) >= {"facade", "budget_kind", "min_budget", "max_budget", "train_plan", "reasons"}
    assert isinstance(plan["reasons"], list) and all(isinstance(reason, str) for reason in plan["reasons"])
    for key, value in JSON[name].items():
        assert plan[key] == value


def test_json_reply_keeps_braces_and_quotes_inside_strings() -> None:
    plan = extract_json(_reply("qwen_plan_json_unfenced.txt"))
    assert plan["train_plan"].startswith("Build a {numeric: impute+scale, categorical: one-hot} ColumnTransformer")
    assert 'cfg["algorithm"]' in plan["train_plan"]
    assert plan["reasons"][1] == 'A "full" budget per trial keeps the comparison fair } even for slow learners'


@pytest.mark.parametrize("name", sorted(FAILS))
def test_replies_without_a_usable_artifact(name: str) -> None:
    expected = FAILS[name]
    with pytest.raises(ReplyError) as caught:
        if expected.required is None:
            extract_json(_reply(name))
        else:
            extract_code(_reply(name), expected.required)
    for fragment in expected.fragments:
        assert fragment in str(caught.value)


# --- code: choosing the block -------------------------------------------------------------------------------


def _fenced(code: str, language: str = "python") -> str:
    return f"```{language}\n{code}```\n"


def test_the_last_block_defining_the_function_wins() -> None:
    reply = (
        "First:\n"
        + _fenced("def train(c, d, s):\n    return 1\n")
        + "Fixed:\n"
        + _fenced("def train(c, d, s):\n    return 2\n")
    )
    assert _assert_importable_without_work(extract_code(reply, "train"), "train")["train"](0, 0, 0) == 2


def test_a_later_block_without_the_function_does_not_replace_it() -> None:
    reply = _fenced("def train(c, d, s):\n    return 1\n") + "Usage:\n" + _fenced("result = train(cfg, data, 0)\n")
    assert extract_code(reply, "train") == "def train(c, d, s):\n    return 1\n"


def test_a_broken_corrected_version_is_reported_not_replaced_by_the_first_attempt() -> None:
    reply = (
        _fenced("def train(c, d, s):\n    return 1\n") + "Corrected:\n" + _fenced("def train(c, d, s)\n    return 2\n")
    )
    with pytest.raises(ReplyError, match="line 1 of the code"):
        extract_code(reply, "train")


def test_imports_from_an_import_only_block_are_prepended() -> None:
    reply = (
        _fenced("import numpy as np\nfrom sklearn.linear_model import Ridge\n\nALPHA = 1.0\n")
        + "Then:\n"
        + _fenced("def train(c, d, s):\n    return {'loss': float(np.mean(Ridge(alpha=ALPHA).alpha))}\n")
    )
    source = extract_code(reply, "train")
    assert source.startswith(
        "import numpy as np\nfrom sklearn.linear_model import Ridge\n\nALPHA = 1.0\n\n\ndef train("
    )
    assert _assert_importable_without_work(source, "train")["train"](0, 0, 0) == {"loss": 1.0}


def test_imports_go_after_the_docstring_and_future_import() -> None:
    reply = _fenced("import math\n") + _fenced(
        '"""Doc."""\nfrom __future__ import annotations\n\n\ndef train(c, d, s):\n    return math.pi\n'
    )
    source = extract_code(reply, "train")
    assert source.startswith('"""Doc."""\nfrom __future__ import annotations\n\nimport math\n')
    assert _assert_importable_without_work(source, "train")["train"](0, 0, 0) > 3


def test_only_the_needed_imports_of_an_earlier_attempt_are_taken() -> None:
    first = "import os\nimport numpy as np\nimport pandas as pd\n\ndef train(c, d, s):\n    return np.zeros(1)\n"
    corrected = "def train(c, d, s):\n    return {'loss': float(np.zeros(1)[0])}\n"
    source = extract_code(_fenced(first) + "Better:\n" + _fenced(corrected), "train")
    assert source == "import numpy as np\n\n\n" + corrected


def test_usage_block_imports_are_not_taken() -> None:
    usage = "from train import train\nimport pandas as pd\n\nprint(train({}, pd.read_csv('x.csv'), 0))\n"
    source = extract_code(_fenced("def train(c, d, s):\n    return {}\n") + _fenced(usage), "train")
    assert source == "def train(c, d, s):\n    return {}\n"


def test_shell_blocks_are_ignored() -> None:
    reply = _fenced("pip install scikit-learn\n", "bash") + _fenced("def train(c, d, s):\n    return {}\n", "sh")
    with pytest.raises(ReplyError, match="no Python code that defines `train\\(\\)`"):
        extract_code(reply, "train")


@pytest.mark.parametrize(
    "reply",
    [
        "```python\nCODE```",
        "```py\nCODE```",
        "```Python\nCODE```",
        "```\nCODE```",
        "~~~\nCODE~~~",
        "~~~python\nCODE~~~",
        "````python\nCODE````",
        '```python title="train.py"\nCODE```',
        "```python   \nCODE```   \n",
        "1. Save it:\n\n    ```python\n    def train(c, d, s):\n        return {}\n    ```\n\n2. Run it.",
        "Here you go:\n```python\nCODE",
        "Here you go:\n\nCODE\nThat is all.",
        "CODE",
        "  Here is the code, indented as a markdown code block:\n\n    def train(c, d, s):\n        return {}\n\nBye.",
    ],
)
def test_fence_variants(reply: str) -> None:
    reply = reply.replace("CODE", "def train(c, d, s):\n    return {}\n")
    assert extract_code(reply, "train") == "def train(c, d, s):\n    return {}\n"


def test_normalises_bom_line_endings_and_trailing_newlines() -> None:
    reply = "\ufeff```python\r\nimport os\r\n\r\ndef train(c, d, s):\r\n\treturn {}\r\n\r\n\r\n```\r\n"
    assert extract_code(reply, "train") == "import os\n\ndef train(c, d, s):\n\treturn {}\n"


def test_async_definition_counts_and_nested_ones_do_not() -> None:
    assert extract_code(_fenced("async def train(c, d, s):\n    pass\n"), "train").startswith("async def train")
    for nested in (
        "def outer():\n    def train(c, d, s):\n        pass\n",
        "class A:\n    def train(self):\n        pass\n",
    ):
        with pytest.raises(ReplyError, match="at module level"):
            extract_code(_fenced(nested), "train")


def test_the_required_name_selects_the_block() -> None:
    reply = _fenced("def get_configspace():\n    return 1\n") + _fenced("def train(c, d, s):\n    return 2\n")
    assert _top_level_functions(extract_code(reply, "get_configspace")) == {"get_configspace"}
    assert _top_level_functions(extract_code(reply, "train")) == {"train"}


@pytest.mark.parametrize("reply", ["", "   \n\t\n", "\ufeff\r\n"])
def test_empty_replies(reply: str) -> None:
    with pytest.raises(ReplyError, match="your reply is empty"):
        extract_code(reply, "train")
    with pytest.raises(ReplyError, match="your reply is empty"):
        extract_json(reply)


# --- code: unfenced replies ---------------------------------------------------------------------------------


def test_unfenced_code_is_cut_from_the_prose_around_it() -> None:
    code = "import os\n\n\n@staticmethod\ndef train(c, d, s):\n    x = (\n        1,\n    )\n    return {'n': len(x)}\n"
    reply = f"Sure! Here is the code:\n\n{code}\n# Explanation\n\nThe function returns a dict.\n- Uses os.\n"
    assert extract_code(reply, "train") == code


def test_unfenced_reply_with_two_versions_takes_the_last() -> None:
    reply = "First try:\n\ndef train(c, d, s):\n    return 1\n\nBetter:\n\ndef train(c, d, s):\n    return 2\n\nDone."
    assert extract_code(reply, "train") == "def train(c, d, s):\n    return 2\n"


def test_unfenced_function_broken_in_the_middle_is_an_error_not_a_truncated_function() -> None:
    reply = "Code:\n\ndef train(c, d, s):\n    x = 1\n    y = [1 2]\n    return {'loss': x}\n\nThat is it."
    with pytest.raises(ReplyError, match=r"line 3 of the code, `y = \[1 2\]`"):
        extract_code(reply, "train")


def test_cut_off_block_keeps_the_complete_part_before_the_cut() -> None:
    reply = "```python\nimport os\n\ndef train(c, d, s):\n    return {}\n\nif __name__ == '__main__':\n    train({"
    assert extract_code(reply, "train") == "import os\n\ndef train(c, d, s):\n    return {}\n"


def test_cut_off_inside_the_function_says_so() -> None:
    with pytest.raises(ReplyError, match="breaks off before its end"):
        extract_code("```python\ndef train(c, d, s):\n    model = fit(\n", "train")


# --- code: dropping what runs at import ---------------------------------------------------------------------

SCRIPT = '''"""Module docstring."""
import functools
import json

try:
    import lightgbm
except ImportError:  # optional
    lightgbm = None

SEED = 0  # a constant
NAMES = [name.upper() for name in ("a", "b")]
LOADED = json.loads("{}")
FROM_LOADED = LOADED["x"]
SCALE: float = 2.0
make = lambda value: dict(value=value)  # noqa: E731


@functools.lru_cache(maxsize=None)
def helper(value):
    # keep this comment
    return value * SCALE


class Model:
    pass


# Example usage
print(helper(1))
for value in range(3):
    helper(value)
with open("log.txt") as handle:
    handle.write("x")
while False:
    pass


def train(c, d, s):
    return {"loss": helper(1)}  # trailing comment


if __name__ == "__main__":
    train({}, {}, 0)
'''


def test_script_statements_that_do_work_are_dropped() -> None:
    source = extract_code(_fenced(SCRIPT), "train")
    for gone in (
        "json.loads",
        "FROM_LOADED",
        "print(",
        "for value",
        "with open",
        "while False",
        "__main__",
        "# Example",
    ):
        assert gone not in source
    namespace = _assert_importable_without_work(source, "train")
    assert namespace["train"]({}, {}, 0) == {"loss": 2.0}
    assert namespace["make"](1) == {"value": 1}


def test_kept_code_keeps_its_text_comments_and_decorators() -> None:
    source = extract_code(_fenced(SCRIPT), "train")
    assert source.startswith('"""Module docstring."""\nimport functools\nimport json\n\ntry:\n')
    assert "except ImportError:  # optional\n" in source
    assert "NAMES" not in source  # its comprehension calls upper() at import
    assert "SEED = 0  # a constant\n" in source
    assert "\n\n@functools.lru_cache(maxsize=None)\ndef helper(value):\n    # keep this comment\n" in source
    assert 'return {"loss": helper(1)}  # trailing comment\n' in source
    assert "\n\n\n\n" not in source  # the gaps left by dropped statements are closed up


def test_statements_sharing_a_line_fall_back_to_the_syntax_tree() -> None:
    source = extract_code(_fenced("import os; print(os.sep)\n\ndef train(c, d, s):\n    return {}\n"), "train")
    assert source == "import os\ndef train(c, d, s):\n    return {}\n"


# --- JSON ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('Here is the plan: {"a": {"b": [1, 2]}} as requested.', {"a": {"b": [1, 2]}}),
        ('Use {placeholders} like {this}. {"a": 1}', {"a": 1}),
        ('```json\n{"a": 1,\n}\n```', {"a": 1}),
        ('{"a": [1, 2, ], "b": {"c": 3,},}', {"a": [1, 2], "b": {"c": 3}}),
        ('{\n  // why\n  "a": 1, # more\n  "b": "http://x#y"\n}', {"a": 1, "b": "http://x#y"}),
        ('{"a": True, "b": False, "c": None, "d": "True None"}', {"a": True, "b": False, "c": None, "d": "True None"}),
        ('{"a": "brace } and \\" quote {", "b": "back\\\\"}', {"a": 'brace } and " quote {', "b": "back\\"}),
        ('```json\n{"first": 1}\n```\n```json\n{"second": 2}\n```', {"first": 1}),
        ('```json\n{broken}\n```\n```json\n{"second": 2}\n```', {"second": 2}),
        ('```python\nplan = {"py": 1}\n```\n{"prose": 2}', {"prose": 2}),
        ('<think>draft {"a": 0}</think>\n{"a": 1}', {"a": 1}),
        ('draft {"a": 0} without the opening tag</think>\n{"a": 1}', {"a": 1}),
        ('{"text": "line one\nline two"}', {"text": "line one\nline two"}),
    ],
)
def test_json_variants(reply: str, expected: dict[str, Any]) -> None:
    assert extract_json(reply) == expected


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        ("I think hpo is best.", "no JSON object"),
        ('```json\n["hpo", "hyperband"]\n```', "is an array, not an object"),
        ('Here: [{"facade": "hpo"}]', "is an array, not an object"),
        ('{"facade": "hpo", "reasons": ["a",', "never closed"),
        ('{\n  // comment\n  "a": 1\n  "b": 2\n}', "Expecting ',' delimiter at line 4 column 3"),
        ("{'facade': 'hpo'}", "double-quoted"),
        ('{"a": __import__("os").getcwd()}', "does not parse"),
    ],
)
def test_json_problems(reply: str, fragment: str) -> None:
    with pytest.raises(ReplyError) as caught:
        extract_json(reply)
    assert fragment in str(caught.value)
