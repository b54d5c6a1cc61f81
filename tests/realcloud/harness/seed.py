"""placeholder"""


def seed(layout, secrets):
    pass
