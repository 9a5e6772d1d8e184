"""``/products`` and ``/product-versions``: the catalogue of what the company sells.

A product is created with its first draft version (``POST /products``); ``PUT`` writes new
terms as a new draft version at the product's ``If-Match`` version; a version is published
or retired with ``POST /product-versions/{id}/transitions`` at the version's own ``If-Match``.
"""

from __future__ import annotations

from leasekit.domain.products import Product, ProductTerms, ProductVersion
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import (
    ID,
    create_route,
    get_route,
    list_route,
    revise_route,
    transition_route,
)
from leasekit.services import products
from leasekit.services.products import CreateProduct, ProductQuery, ProductRevision

__all__ = ["api"]

api = ApiRoutes("products", "The product catalogue: products and the versions of their terms.")

create_route(api, "/products", products.create_product, body=CreateProduct, reply=Product)
list_route(api, "/products", products.list_products, query=ProductQuery, item=Product)
get_route(api, f"/products/{ID}", products.get_product, reply=Product)
revise_route(
    api,
    f"/products/{ID}",
    products.revise_product,
    body=ProductTerms,
    reply=Product,
    revision=ProductRevision,
    summary="Write new terms for a product",
    answer="The product, whose draft version holds the new terms.",
    description="""Writes the whole terms as a new draft version (published versions are
    never changed) at the product's version ``If-Match`` names (412 if it changed since); a
    draft written before is retired. Managers and directors only (403 for anyone else before
    the body is read).""",
)
list_route(
    api,
    f"/products/{ID}/versions",
    products.list_product_versions,
    item=ProductVersion,
    path_args=lambda request: (request.match_info["id"],),
)
get_route(api, f"/product-versions/{ID}", products.get_product_version, reply=ProductVersion)
transition_route(
    api,
    f"/product-versions/{ID}/transitions",
    products.transition_product_version,
    reply=ProductVersion,
)
