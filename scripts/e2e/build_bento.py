"""Saves the iris model and builds the bento; prints the bento tag (last line).

Usage: python build_bento.py PROJECT_DIR [--single | --no-model]  (with BENTOML_HOME set)
PROJECT_DIR is a scratch copy of native_bento/, bentoml_bento/ or
services_bento/ (BentoML reads files from the working directory). --single
saves the model with one method, `predict`, for the bentoml.ray mode;
--no-model saves none (the services bento uses no model). Works with BentoML
1.1 and 1.4.
"""

import os
import sys

import bentoml

if "--no-model" not in sys.argv:
    from sklearn import datasets, svm

    iris = datasets.load_iris()
    clf = svm.SVC(gamma="scale", probability=True, random_state=0).fit(
        iris.data, iris.target
    )
    signatures = {"predict": {"batchable": True, "batch_dim": 0}}
    if "--single" not in sys.argv:
        signatures["predict_proba"] = {"batchable": False}
    model = bentoml.sklearn.save_model("iris_clf", clf, signatures=signatures)
    print("model", model.tag, file=sys.stderr)
os.chdir(sys.argv[1])
bento = bentoml.bentos.build_bentofile(build_ctx=".")
print(bento.tag)
