"""Sample files the demo copies for trying the API and tests read.

``face-photo.jpg`` is a face photo as taken at signing: the face of NASA's photograph of
astronaut Eileen Collins (public domain, as a work of the US government), taken from the copy
scikit-image ships as ``skimage.data.astronaut()``, cropped to 256 × 256 pixels with EXIF
saying it was taken at 2026-11-30 10:15 (+08:00) at 31.2304 N, 121.4737 E (Shanghai).
``leasekit demo`` hands out a copy whose EXIF says it was taken when the demo started.

``statement.xml`` is a camt.053 statement of a salaried customer in CNY (three months, a
salary of 18,500.00 a month from one employer, rent and card payments), made up for the demo;
``statement-edited.xml`` is the same file with each salary raised to 38,500.00 and nothing
else changed, so its balances and the bank's totals no longer add up.
"""
