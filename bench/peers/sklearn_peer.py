"""Peer for `npm run bench -- quality`: scikit-learn trained and scored on the train / validation / test
Parquet files that trainyard's splitAndSample wrote, with the feature handling a practitioner would
write by hand. Argument: a JSON spec file
  {"model": "hgb" | "linear", "task": "binary" | "multiclass" | "regression", "label": str,
   "exclude": [str], "timeColumn": str | null, "train": path, "validation": path, "test": path}
Prints one JSON object on its last line: test metrics, the zero-rule's, timings and peak RSS.

- hgb: HistGradientBoosting{Classifier,Regressor} with default settings, fitted on train and early-stopped
  on the validation split (X_val / y_val), categoricals as pandas category dtype.
- linear: LogisticRegression (C=1) / Ridge (alpha=1) fitted on train only: median-imputed, standardised
  numbers, one-hot categoricals and calendar parts.
Date and time columns become calendar parts (hour, day of week, day of month, month), plus the year
when the column is not the split's time column (a time split's test years lie outside the train range).
"""
import json
import resource
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyarrow.types as pat
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CALENDAR = ("hour", "dow", "day", "month")
MAX_HGB_CATEGORIES = 255  # HistGradientBoosting's limit per categorical feature (max_bins)


def read(path):
    table = pq.read_table(path)
    frame = table.to_pandas()
    dates = [f.name for f in table.schema if pat.is_timestamp(f.type) or pat.is_date(f.type)]
    for name in dates:
        frame[name] = pd.to_datetime(frame[name])
    return frame, dates


def calendar_parts(frame, dates, time_column):
    """Replaces each date column by its calendar parts; parts that never vary (hour of a date) are dropped later."""
    for name in dates:
        d = frame.pop(name).dt
        parts = {"hour": d.hour, "dow": d.dayofweek, "day": d.day, "month": d.month}
        if name != time_column:
            parts["year"] = d.year
        for part, values in parts.items():
            frame[f"{name}_{part}"] = values.astype("float64")
    return frame


def main():
    spec = json.load(open(sys.argv[1]))
    started = time.perf_counter()
    frames, dates = {}, []
    for split in ("train", "validation", "test"):
        frame, dates = read(spec[split])
        frame = frame.drop(columns=[c for c in spec["exclude"] if c in frame.columns])
        frames[split] = calendar_parts(frame, dates, spec.get("timeColumn"))
    read_s = time.perf_counter() - started

    task, label = spec["task"], spec["label"]
    y = {s: f.pop(label) for s, f in frames.items()}
    train = frames["train"]
    constant = [c for c in train.columns if train[c].nunique(dropna=False) <= 1]
    for f in frames.values():
        f.drop(columns=constant, inplace=True)
    calendar = [c for c in train.columns if c.rsplit("_", 1)[-1] in CALENDAR and c.rsplit("_", 1)[0] in dates]
    categorical = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c]) and not pd.api.types.is_bool_dtype(train[c])]
    for f in frames.values():
        for c in f.columns:
            if pd.api.types.is_bool_dtype(f[c]):
                f[c] = f[c].astype("float64")

    if task == "regression":
        y = {s: v.astype("float64") for s, v in y.items()}
        classes = None
    else:
        y = {s: v.astype(str) for s, v in y.items()}  # booleans become "True" / "False" on every split alike
        classes = sorted(y["train"].unique())

    fit_started = time.perf_counter()
    if spec["model"] == "hgb":
        model, X = fit_hgb(task, frames, y, categorical)
    else:
        model, X = fit_linear(task, frames, y, categorical, calendar)
    fit_s = time.perf_counter() - fit_started

    predict_started = time.perf_counter()
    result = score(task, model, X["test"], y["test"], y["train"], classes)
    result.update(
        model=spec["model"],
        estimator=type(model[-1] if hasattr(model, "steps") else model).__name__,
        features=list(frames["train"].columns),
        categorical=categorical,
        rows={s: int(len(v)) for s, v in y.items()},
        readSeconds=read_s,
        fitSeconds=fit_s,
        predictSeconds=time.perf_counter() - predict_started,
        wallSeconds=time.perf_counter() - started,
        peakRssBytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    )
    if spec["model"] == "hgb":
        result["iterations"] = int(model.n_iter_)
    print(json.dumps(result))


def fit_hgb(task, frames, y, categorical):
    for c in categorical:
        # Categories are the train split's most frequent ones; anything else is "missing" to the model.
        kept = frames["train"][c].value_counts().index[: MAX_HGB_CATEGORIES - 1]
        for f in frames.values():
            f[c] = pd.Categorical(f[c].where(f[c].isin(kept)), categories=list(kept))
    options = dict(categorical_features="from_dtype", early_stopping=True, random_state=42)
    model = HistGradientBoostingRegressor(**options) if task == "regression" else HistGradientBoostingClassifier(**options)
    model.fit(frames["train"], y["train"], X_val=frames["validation"], y_val=y["validation"])
    return model, frames


def fit_linear(task, frames, y, categorical, calendar):
    numeric = [c for c in frames["train"].columns if c not in categorical and c not in calendar]
    columns = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("calendar", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), calendar),
        ]
    )
    for f in frames.values():
        for c in categorical:
            f[c] = f[c].astype(object).fillna("__missing__")
    estimator = Ridge(alpha=1.0) if task == "regression" else LogisticRegression(C=1.0, max_iter=2000)
    model = make_pipeline(columns, estimator)
    model.fit(frames["train"], y["train"])
    return model, frames


def score(task, model, X, y, y_train, classes):
    if task == "regression":
        predicted = model.predict(X)
        zero = np.full(len(y), y_train.mean())
        return {
            "metrics": {"rmse": float(np.sqrt(mean_squared_error(y, predicted))), "r2": float(r2_score(y, predicted))},
            "zeroRule": {"rmse": float(np.sqrt(mean_squared_error(y, zero)))},
        }
    probabilities = model.predict_proba(X)
    order = list(model.classes_)
    probabilities = probabilities[:, [order.index(c) for c in classes]]
    prior = y_train.value_counts(normalize=True).reindex(classes).to_numpy()
    zero = np.tile(prior, (len(y), 1))
    metrics = {
        "accuracy": float(accuracy_score(y, np.array(classes)[probabilities.argmax(axis=1)])),
        "log_loss": float(log_loss(y, probabilities, labels=classes)),
    }
    if task == "binary":
        positive = "True" if "True" in classes else classes[-1]
        metrics["roc_auc"] = float(roc_auc_score(y == positive, probabilities[:, classes.index(positive)]))
    return {"metrics": metrics, "zeroRule": {"log_loss": float(log_loss(y, zero, labels=classes))}}


if __name__ == "__main__":
    main()
