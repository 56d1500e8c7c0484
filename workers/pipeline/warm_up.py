"""Running every stage once on a small built-in article, before the first real document.

Loading a model is not all a first document pays for: the summary model, the HTML parser, the
keyword tables and the regular expressions initialise lazily on first use. A worker runs this
in its main process before the pool forks, so that what these build is shared by every pool
process, and again in each pool process before it reports ready: a forked process still pays on
its first document for the memory pages it writes to (copy-on-write: reference counts, the
matrix library's buffers), about 60 ms that would otherwise land on one user's document.
"""

from __future__ import annotations

from spacy.language import Language

from contracts.documents import DocumentOptions
from workers.pipeline.stages import run_clean, run_entities, run_summarize

SAMPLE_PARAGRAPHS = (
    "The city council of Riverton approved a new budget on Tuesday, after a debate that "
    "lasted most of the night. Mayor Helen Ortiz said the plan would add 40 teachers.",
    "The budget, worth 2.3 billion dollars, raises spending on schools and public transport. "
    "Critics from the Riverton Taxpayers Association said it leaves too little in reserve.",
    "Officials in the state capital, Lakeside, are expected to review the plan next month. "
    "The council will hold a public hearing at the central library on March 3.",
)
# Long enough (about 650 words) that the model's buffers reach the size of a news article.
SAMPLE_TEXT = "\n\n".join(SAMPLE_PARAGRAPHS * 8)
SAMPLE_HTML = (
    "<html><head><title>Riverton approves budget</title></head><body><nav>Home | News</nav>"
    "<article><h1>Riverton approves budget</h1>"
    + "".join(f"<p>{p}</p>" for p in SAMPLE_PARAGRAPHS * 8)
    + "</article><footer>Contact us</footer></body></html>"
)


def run_every_stage_once(nlp: Language) -> None:
    """Clean (text and HTML), entities and summarize on the sample article; results dropped."""
    options = DocumentOptions()
    for content, content_type in ((SAMPLE_TEXT, "text/plain"), (SAMPLE_HTML, "text/html")):
        clean = run_clean(content=content, content_type=content_type, options=options)
        analysis = run_entities(clean=clean, nlp=nlp)
        run_summarize(clean=clean, analysis=analysis, options=options)
