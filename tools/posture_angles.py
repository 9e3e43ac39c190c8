"""Where gravity sits in each posture, per person, against their own walking:

    .venv/bin/python tools/posture_angles.py --data ../shared/data/hapt-dev

Per subject, the angle in degrees between the mean reading (the direction of gravity) of sitting,
standing and lying and that of walking, and between sitting and standing; and the order in which
the activities first appear in their recordings. Sitting and standing differ by how a body tilts
a device worn at the waist, and the tilt is each person's own: this says whether a memory of the
walking orientation could tell them apart, and whether the recordings give it one in time.
"""

from __future__ import annotations

import argparse

import numpy as np

from edge_har.data.loading import load_data

POSTURES = ("SITTING", "STANDING", "LAYING")


def _direction(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=0)
    return mean / np.linalg.norm(mean)


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="labelled recordings with WALKING, SITTING, STANDING, LAYING")
    args = parser.parse_args()
    data = load_data(args.data)
    wanted = ("WALKING", *POSTURES)
    missing = [c for c in wanted if c not in data.classes]
    if missing:
        raise SystemExit(f"{args.data} has no {', '.join(missing)}")
    print("| subject | sitting vs walking | standing vs walking | lying vs walking | sitting vs standing "
          "| first seen, in order |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for subject in data.subjects:
        recordings = data.select([subject]).recordings
        x, y = np.concatenate([r.x for r in recordings]), np.concatenate([r.y for r in recordings])
        g = {c: _direction(x[y == data.classes.index(c)]) for c in wanted}
        first = [int(np.flatnonzero(recordings[0].y == data.classes.index(c))[0]) if
                 (recordings[0].y == data.classes.index(c)).any() else len(recordings[0].y) for c in wanted]
        order = " < ".join(c.lower() for _, c in sorted(zip(first, wanted)))
        print(f"| {subject} | {_angle(g['SITTING'], g['WALKING']):.1f} | {_angle(g['STANDING'], g['WALKING']):.1f} | "
              f"{_angle(g['LAYING'], g['WALKING']):.1f} | {_angle(g['SITTING'], g['STANDING']):.1f} | {order} "
              f"(first recording) |")


if __name__ == "__main__":
    main()
