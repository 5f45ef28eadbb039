"""Runnable examples shipped with distnet (so they work from an installed wheel):

python -m distnet.examples.train_mnist --num-epochs 5
distnet-launch -n 4 -s 1 python -m distnet.examples.train_mnist --kv-store dist_sync
"""
