# A helper script beside src/, as projects keep them: not an entry file.
from storefront import create_app

worker_app = create_app()
