"""The evaluation set's recordings and slide videos: siblings again (two waterways' talks, two
ports' annual reviews), each sentence and slide at a fixed time so questions can name it."""

from __future__ import annotations

SENTENCE_SLOT = 7.0  # seconds from one sentence's start to the next one's
FIRST_SENTENCE_AT = 1.0
SLIDE_SECONDS = 6.0

RECORDINGS: dict[str, list[str]] = {
    "canal-history.mp3": [
        "Good afternoon, and welcome to this short history of the Brannock canal.",
        "The canal was dug between seventeen ninety and seventeen ninety eight.",
        "Most of the digging was done by hand, with picks, shovels and wheelbarrows.",
        "The workers were paid in tokens that could only be spent at the company shop.",
        "At its busiest, the canal carried coal from the hill mines down to the river port.",
        "A loaded barge was pulled by a single horse walking along the towpath.",
        "The journey from the mines to the port took about two days.",
        "There were nineteen locks, and the steepest flight had seven of them in a row.",
        "The railway arrived in eighteen forty six and took most of the coal trade.",
        "The last commercial cargo was a load of bricks delivered in nineteen thirty one.",
        "The restored canal reopened to boats in two thousand and four.",
        "Narrow boats can be hired by the week from the basin at the top of the locks.",
        "The old lock keeper's cottage at the top lock is now a small museum.",
        "Thank you for listening, and enjoy your walk along the canal.",
    ],
    "river-tour.mp3": [
        "Hello, and welcome aboard this guided tour of the river Wenning.",
        "The river rises on the moors and flows for forty miles to the sea.",
        "Salmon swim up the river to spawn every autumn after the first floods.",
        "The stone bridge ahead of us was built by monks in the thirteenth century.",
        "Its five arches were widened after a flood swept away the middle one in seventeen seventy.",
        "On the left bank you can see the old paper mill, which closed in nineteen sixty two.",
        "The mill used the river to turn two great wheels and to wash the pulp.",
        "Trip boats like this one run every hour from Easter until the end of September.",
        "Tickets cost eight pounds for adults and four pounds for children.",
        "Herons nest in the tall trees beyond the weir every spring.",
        "The weir was raised in nineteen eighty to protect the town from flooding.",
        "Please stay seated while we turn around below the weir.",
        "Thank you for travelling with us today.",
    ],
}

# (file, the port's name, each slide's body lines, what the narrator says over each slide)
DECKS: list[tuple[str, str, list[list[str]], list[str]]] = [
    (
        "northport-annual-review.mp4",
        "Northport Harbour Annual Review",
        [
            ["Welcome", "Presented by the harbour board"],
            ["Cargo handled: 3.8 million tonnes", "A record year"],
            ["Cruise calls: 46 ships", "Up from 31 the year before"],
            ["New pilot boat: the Guillemot", "In service from May"],
            ["Dredging of the east basin", "Finished six weeks early"],
            ["Questions from the audience", "Thank you"],
        ],
        [
            "Good evening.",
            "Here is the year in one figure.",
            "Tourism grew too.",
            "We bought a new boat.",
            "The basin work is done.",
            "Thank you all.",
        ],
    ),
    (
        "southmere-annual-review.mp4",
        "Southmere Port Annual Review",
        [
            ["Welcome", "Presented by the port trust"],
            ["Cargo handled: 2.1 million tonnes", "Down slightly on last year"],
            ["Cruise calls: 12 ships", "Our first season with cruises"],
            ["New crane: 60 tonne lift", "Installed on the west quay"],
            ["Solar roof on the terminal", "Completed in September"],
            ["Questions from the audience", "Thank you"],
        ],
        [
            "Good evening.",
            "Here is the cargo figure.",
            "Cruises are new for us.",
            "The quay has new equipment.",
            "The terminal has changed.",
            "Thank you all.",
        ],
    ),
]
