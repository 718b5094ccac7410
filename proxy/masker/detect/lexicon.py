"""Word lists the recognizers and the NER filter share: what is *not* a name, and what is not a place.

Kept as plain frozensets in code; the one exception is the given- and family-name lexicon of 100+
countries (``given_names``/``family_names``), shipped as package data built by
``scripts/build_name_lexicon.py`` from the pinned ``names-dataset`` wheel and loaded on first use (no
downloads). The stop-word list is spaCy's English list (MIT), vendored because spaCy may only be
imported by the NER model wrapper.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


STOP_WORDS: frozenset[str] = frozenset(
    {
        "a",
        "about",
        "above",
        "across",
        "after",
        "afterwards",
        "again",
        "against",
        "all",
        "almost",
        "alone",
        "along",
        "already",
        "also",
        "although",
        "always",
        "am",
        "among",
        "amongst",
        "amount",
        "an",
        "and",
        "another",
        "any",
        "anyhow",
        "anyone",
        "anything",
        "anyway",
        "anywhere",
        "are",
        "around",
        "as",
        "at",
        "back",
        "be",
        "became",
        "because",
        "become",
        "becomes",
        "becoming",
        "been",
        "before",
        "beforehand",
        "behind",
        "being",
        "below",
        "beside",
        "besides",
        "between",
        "beyond",
        "both",
        "bottom",
        "but",
        "by",
        "ca",
        "call",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "due",
        "during",
        "each",
        "eight",
        "either",
        "eleven",
        "else",
        "elsewhere",
        "empty",
        "enough",
        "even",
        "ever",
        "every",
        "everyone",
        "everything",
        "everywhere",
        "except",
        "few",
        "fifteen",
        "fifty",
        "first",
        "five",
        "for",
        "former",
        "formerly",
        "forty",
        "four",
        "from",
        "front",
        "full",
        "further",
        "get",
        "give",
        "go",
        "had",
        "has",
        "have",
        "he",
        "hence",
        "her",
        "here",
        "hereafter",
        "hereby",
        "herein",
        "hereupon",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "however",
        "hundred",
        "i",
        "if",
        "in",
        "indeed",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "keep",
        "last",
        "latter",
        "latterly",
        "least",
        "less",
        "made",
        "make",
        "many",
        "may",
        "me",
        "meanwhile",
        "might",
        "mine",
        "more",
        "moreover",
        "most",
        "mostly",
        "move",
        "much",
        "must",
        "my",
        "myself",
        "name",
        "namely",
        "neither",
        "never",
        "nevertheless",
        "next",
        "nine",
        "no",
        "nobody",
        "none",
        "noone",
        "nor",
        "not",
        "nothing",
        "now",
        "nowhere",
        "of",
        "off",
        "often",
        "on",
        "once",
        "one",
        "only",
        "onto",
        "or",
        "other",
        "others",
        "otherwise",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "part",
        "per",
        "perhaps",
        "please",
        "put",
        "quite",
        "rather",
        "re",
        "really",
        "regarding",
        "same",
        "say",
        "see",
        "seem",
        "seemed",
        "seeming",
        "seems",
        "serious",
        "several",
        "she",
        "should",
        "show",
        "side",
        "since",
        "six",
        "sixty",
        "so",
        "some",
        "somehow",
        "someone",
        "something",
        "sometime",
        "sometimes",
        "somewhere",
        "still",
        "such",
        "take",
        "ten",
        "than",
        "that",
        "the",
        "their",
        "them",
        "themselves",
        "then",
        "thence",
        "there",
        "thereafter",
        "thereby",
        "therefore",
        "therein",
        "thereupon",
        "these",
        "they",
        "third",
        "this",
        "those",
        "though",
        "three",
        "through",
        "throughout",
        "thru",
        "thus",
        "to",
        "together",
        "too",
        "top",
        "toward",
        "towards",
        "twelve",
        "twenty",
        "two",
        "under",
        "unless",
        "until",
        "up",
        "upon",
        "us",
        "used",
        "using",
        "various",
        "very",
        "via",
        "was",
        "we",
        "well",
        "were",
        "what",
        "whatever",
        "when",
        "whence",
        "whenever",
        "where",
        "whereafter",
        "whereas",
        "whereby",
        "wherein",
        "whereupon",
        "wherever",
        "whether",
        "which",
        "while",
        "whither",
        "who",
        "whoever",
        "whole",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    }
)

# Frequent words an ASR transcript puts right after "this is" / "i'm" that are not names.
# Calendar words and greetings are capitalised in cased text but are never a name, place or
# organisation on their own; months that are also given names (April, May, June, August) are left out.
CALENDAR_WORDS: frozenset[str] = _words(
    """monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri
    sat sun january february march july september october november december jan feb mar jul sep
    sept oct nov dec let lets ok okay yeah yep hi hello thanks thank"""
)

# Forms of address: never a name on their own, and the name beside them is a candidate itself.
HONORIFICS: frozenset[str] = _words("dr mr mrs ms mx miss mister missus prof sir madam rev jr sr")

COMMON_WORDS: frozenset[str] = _words(
    """
    about actually afraid already alright also always am and angry annoyed anxious any anyone
    appointment asking available away awake bad baby back better big bit bleeding blind booked born
    busy calling can cant careful certain checking clear cold coming concerned confused correct
    covered crazy curious dad dead deaf diabetic different disabled dizzy doctor doing done dont
    down due dying early emergency enough exhausted expecting fine finished following free from
    frustrated full glad going gone good great guessing happy hard having healthy hear hearing
    hello help here hi home honest hoping hot hungry hurt hurting ill im important in interested
    its just kidding late leaving like listening little looking lost mad married me mom more
    nauseous need needing nervous new nice no none nope not nothing now number nurse ok okay old on
    only out over pain patient pregnant pretty probably quite ready real really recovering right
    running sad same scared seeing serious seventy sick single so sorry speaking still stuck sure
    surprised taking talking terrible thanks thank that the then there these thinking this those
    tired today tomorrow trying unable unsure up upset urgent us very waiting walking want wanting
    weak welcome well what where which who why widowed with worried worse wondering wrong yeah yes
    yesterday you your calling regarding concerning following hoping trying writing reaching
    scheduled scheduling returning confirming said says told tells wants wanted gave gives
    prescribed prescribes recommended recommends thinks thought asked asks ordered orders increased
    changed switched started stopped put sent referred mentioned explained noticed saw sees
    checked examined office visit visits wants will would could should might must did does has had
    is was says advised suggested wrote called calls upped lowered doubled cut added removed email
    electronically phone tel telephone portal address fax mail online website contact attention
    uh um er ah hmm mm mhm huh like yep yup nah gonna wanna kinda sorta basically literally
    zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred thousand double triple dash
    take taking took continue continued start started stop follow followed discussed discuss denies
    denied reports reported presents presented recheck increase decrease monitor return admit
    admitted discharge discharged plan assessment history exam physical imaging medications
    allergies social family review systems general skin heent neck lungs heart abdomen extremities
    neuro psych impression recommendation recommendations counseled advised complains complaint
    chief present illness past medical surgical findings results normal abnormal negative positive
    stable unchanged improved improving worsening resolved acute chronic mild moderate severe left
    right bilateral daily weekly monthly nightly morning evening night day week month year years
    months weeks days hours minutes today tomorrow tonight follow-up followup visit clinic hospital
    office appointment emergency room floor unit bed service team note signed reviewed ordered
    pending scheduled obtained noted seen evaluated treated tolerated tolerating given received
    receiving ambulating alert oriented awake comfortable distress apparent appears appear well
    nourished developed soft tender nontender regular rhythm rate clear auscultation breath sounds
    intact grossly focal deficits range motion strength sensation reflexes gait pulses warm dry
    patient patients pt pts mother father wife husband son daughter lives living alone works
    retired smoker nonsmoker alcohol tobacco drugs denies diet exercise sleep weight loss gain
    blood pressure sugar glucose level levels test tests labs lab work xray x-ray scan ct mri
    ultrasound ekg ecg echo stress procedure surgery biopsy results called call back message left
    voicemail prescription refill refills pharmacy insurance coverage copay bill billing payment
    line station practitioner manager advice desk team staff assistant supervisor department
    copy copies identity identification professional card cards license licence form forms document
    documents documentation summary report letter record records certificate statement consent
    release authorization request application attachment attached enclosure file files page section
    signature services support information details status update updates access verification
    verified confirmation confirmed occupational therapy therapist social work worker planning
    reconciliation directive directives code transportation interpreter interpreters vital signs
    score theft protection brochure printed portal password reset session chart charts
    fingerprint fingerprints template templates voiceprint biometric biometrics iris retina palm
    enrolled enrollment enrolment scanned uploaded saved
    began begin begun initiated initiate restarted resumed discussed offered declined refused
    """
)

# Clinical and pharmacy vocabulary that NER likes to call PERSON or ORG in notes.
CLINICAL_WORDS: frozenset[str] = _words(
    """
    chest shortness dizziness swelling palpitations numbness weakness tingling stiffness soreness
    a1c abdomen ace acetaminophen acute advil albuterol allergies allergy alprazolam amlodipine
    amoxicillin anemia angina anxiety aspirin assessment asthma atenolol ativan atorvastatin
    augmentin azithromycin bid biopsy bmi bmp bp bpm bun cabg cardiology carvedilol cbc cefazolin
    celexa cephalexin chf cipro ciprofloxacin citalopram clonazepam clopidogrel cmp colonoscopy
    copd coumadin covid cpap cpt creatinine crestor ct cxr dermatology diabetes diagnosis
    diclofenac dm doxycycline dx ecg ed eeg egfr eliquis emr ent er escitalopram esomeprazole
    fentanyl flonase fluoxetine furosemide gabapentin gerd glipizide glucose hba1c hctz hdl
    heparin hgb hpi hr htn hydrochlorothiazide hydrocodone ibuprofen icd icu inr insulin iv
    januvia keflex lab labs lantus lasix ldl levothyroxine lexapro lipitor lisinopril lorazepam
    losartan lovenox meloxicam metformin methotrexate metoprolol mg mg/dl ml mmhg morphine motrin
    mri naproxen neurology nexium nitroglycerin norco npo nsaid omeprazole oncology ondansetron
    oxycodone pantoprazole paxil pcp percocet plavix plan pmh po potassium prednisone prilosec
    prn protonix prozac pt q4h q6h qd qhs qid ros rx sertraline simvastatin sodium spo2 ssri
    statin synthroid tablet tablets tamsulosin tid tramadol trazodone troponin tsh tylenol ua
    ultrasound uti valium vitals warfarin wbc xanax xarelto zantac zofran zoloft zolpidem
    zyrtec ambien humalog novolog ozempic trulicity jardiance farxiga entresto humira keytruda
    eliquis brilinta repatha dupixent wegovy mounjaro victoza toradol benadryl claritin
    pepcid mucinex robitussin sudafed narcan suboxone adderall ritalin concerta vyvanse
    neurontin lyrica flexeril robaxin medrol decadron solumedrol rocephin vancomycin zosyn
    bactrim flagyl diflucan valtrex tamiflu paxlovid remdesivir crackles wheezes wheezing rales
    rhonchi murmur murmurs edema erythema tenderness guarding rebound clubbing cyanosis jaundice
    icterus effusion infiltrate consolidation cardiomegaly atelectasis stridor gallop rub bruit
    afebrile febrile tachycardia bradycardia hypotension hypertension hyperlipidemia dyspnea
    orthopnea syncope vertigo nausea vomiting diarrhea constipation dysuria hematuria melena
    hematochezia fatigue malaise pruritus rash cellulitis sepsis pneumonia bronchitis cough fever
    chills headache migraine seizure stroke tia dementia delirium depression insomnia obesity
    ppd bid tid qhs prn sig disp refills dispense
    radiology orthopedics orthopaedics pulmonology nephrology gastroenterology urology psychiatry
    pediatrics endocrinology rheumatology hematology ophthalmology otolaryngology obstetrics
    gynecology anesthesiology pathology podiatry neurosurgery hospitalist telemetry triage
    keppra depakote seroquel haldol risperdal abilify zyprexa wellbutrin effexor cymbalta
    klonopin restoril norvasc toprol coreg cozaar diovan benicar zestril prinivil tenormin
    glucophage glucotrol amaryl actos levemir tresiba toujeo basaglar jardiance invokana
    pradaxa plavix effient lovaza zetia tricor crestor pravachol zocor singulair advair symbicort
    spiriva ventolin proair flovent qvar xopenex prednisolone solu-medrol decadron kenalog
    augmentin zithromax levaquin avelox biaxin cleocin vibramycin macrobid keflex duricef
    diflucan valtrex zovirax tamiflu flomax proscar avodart detrol ditropan vesicare aricept
    namenda sinemet requip mirapex imitrex topamax lamictal tegretol trileptal dilantin
    ultram dilaudid oxycontin vicodin percocet tylenol advil aleve motrin excedrin
    prilosec nexium protonix pepcid zantac carafate reglan colace senokot miralax dulcolax
    humira enbrel remicade stelara otezla xeljanz eliquis xarelto coumadin lovenox
    parkinson parkinsons alzheimer alzheimers crohn crohns hodgkin hodgkins cushing cushings
    graves hashimoto hashimotos addison addisons guillain barre raynaud raynauds foley holter
    doppler babinski glasgow apgar gleason whipple nissen epley heimlich kawasaki tourette
    huntington huntingtons sjogren sjogrens marfan ehlers danlos barrett barretts meckel
    hirschsprung bell bells down kaposi wernicke korsakoff korotkoff murphy murphys mcburney
    kernig brudzinski romberg trendelenburg valsalva lachman mcmurray phalen tinel spurling
    finkelstein homan homans virchow virchows wolff parkinson-white stevens-johnson
    hemoglobin haemoglobin hematocrit platelets platelet albumin bilirubin lipase amylase ferritin
    magnesium calcium phosphorus lactate lactated ringer ringers procalcitonin ammonia cortisol
    saline dextrose bicarbonate chloride urinalysis culture cultures
    known likely possible probable suspected presumed status post prior
    memory tone lung lungs bone bones joint joints
    aureus coli difficile diff pylori pneumoniae aeruginosa epidermidis faecalis faecium mirabilis
    influenzae mrsa mssa vre cdiff
    """
)

# Departments, services, units, care roles and form vocabulary of hospital writing: capitalised in
# notes and headers ("Palliative Care", "Case Management", "Step-Down Unit", "Guarantor Information"),
# never a name or a place on their own. Surnames that are also such words ("Ward", "Hall") are left out.
SERVICE_WORDS: frozenset[str] = _words(
    """
    medicine internal primary intensive palliative hospice management therapy therapies therapist
    services unit units lab laboratory delivery labor nutrition nutritional respiratory wound rehab
    rehabilitation evaluation evaluations planning advance pharmacist pharmacists clinical consult
    consults consultation protocol protocols drip infusion infusions radiology interventional surgical
    surgery icu nicu picu micu sicu ccu cvicu pacu department departments division program
    programs medical health behavioral mental dietary dietitian nursing nurses case manager managers
    coordinator coordinators admissions admitting registration scheduling records access review
    utilization quality compliance chaplain chaplaincy spiritual pastoral volunteer volunteers
    security transport transportation environmental housekeeping food life child pediatric adult
    adults geriatric geriatrics neonatal maternal obstetric infectious disease diseases vascular
    thoracic cardiac cardiothoracic cardiovascular orthopedic orthopaedic trauma transplant dialysis
    renal sleep speech language audiology occupational recreational vision optometry dental oral
    maxillofacial plastic reconstructive general family urgent critical step-down stepdown
    observation float pool bed flow floor pod suite center centre team teams desk front attending
    resident residents fellow intern interns hospitalists provider providers physician physicians
    surgeon surgeons original duplicate representative authorized guarantor information attestation
    interval pertinent negatives positives impression disposition recommendation recommendations
    subjective objective instructions diagnoses problem problems list orders order progress
    procedures medication medications reconciliation med rec meds discharge admission transfer
    consent consents waiver notice privacy practices rights responsibilities financial billing
    outpatient inpatient ambulatory perioperative preoperative postoperative anesthesia recovery
    imaging cath catheterization echo electrophysiology endoscopy sterile processing supply chain
    central patient care coordination navigation navigator education educator specialist
    specialists technician technologist assistant aide aides scribe wellness annual visit reason
    baby newborn epic mychart cerner meditech athena athenahealth
    """
)

# Past tenses, adverbs and adjectives that do not look inflected but follow "my son …" as often as a
# name does ("my son broke his arm", "my mom never calls").
PLAIN_VERBS_AND_ADVERBS: frozenset[str] = _words(
    """
    broke fell got went came took made ran saw gave left felt kept lost paid sent spent thought bought
    brought caught taught found heard held meant met read sat stood understood won wrote ate drove
    forgot hurt hit let put quit set shut cut woke threw grew knew drew flew wore tore swore bit hid
    slid spun stuck struck swung rang sang sank drank began swam became told sold fought led fed bled
    fled slept wept swept dealt lent bent built burnt also just even never often usually sometimes
    again too maybe actually finally lately recently currently still ever once twice who whom whose
    which what when where how why because since though although while until unless without about
    against among around behind below beside between beyond during inside outside toward towards
    upon within has have had does did can could will would shall should may might must cannot isnt
    wasnt doesnt didnt cant wont has had keeps gets goes says tells thinks knows wants needs likes
    lives works stays calls helps tries uses sees hears feels seems looks comes takes gives makes
    and or but nor yet so then now here there today tonight tomorrow yesterday home back away
    alone together both all each every either neither one two three four five six some any many
    much more most less least few several other another own same such only very quite rather
    pretty really whole half sick ill fine okay ok well better worse good bad sad mad glad sure
    upset scared worried tired busy late early young old little big new first last next second
    third again already anyway instead otherwise overall meanwhile
    """
)


# What follows a surname in a medical eponym ("Parkinson's disease", "Foley catheter", "Glasgow Coma
# Scale", "Killip class", "Jackson-Pratt drain"): a name before one of these is not a person.
EPONYM_HEADS: frozenset[str] = _words(
    """
    disease diseases syndrome syndromes palsy sign signs test tests maneuver maneuvers manoeuvre
    manoeuvres criteria score scores scale scales class classification grade grading stage staging
    fracture fractures ulcer ulcers lymphoma sarcoma tumor tumour procedure operation method reflex
    reflexes catheter catheters drain drains lift tube tubes suction monitor node nodes lesion lesions
    point phenomenon triad equation formula coma position repair diverticulum esophagus oesophagus
    encephalopathy disorder anomaly cyst cysts block respirations breathing breath murmur
    contracture deformity tear tears protein proteins bodies cells spots stockings solution lactate
    thyroiditis hepatitis arteritis neuroma neuralgia dystrophy ataxia chorea anemia aneurysm fistula
    hernia membrane canal duct gland ligament nerve artery pouch shunt valve incision approach
    technique blade mask bag index ratio rule rules regimen dressing splint brace boot collar needle
    forceps retractor clamp stitch suture knot lines line hose wrap bandage lens patch pump sensor
    """
)

# Capitalised words that are also given names; NER hits on these alone are dropped unless a name
# cue ("Dr.", "my name is", a following surname) is present.
NAME_LIKE_WORDS: frozenset[str] = _words(
    """
    will may hope grace faith joy mark bill bob rose june april august summer autumn dawn
    sky rich frank earnest ernest sue pat chase hunter crystal amber ruby pearl iris lily daisy
    ivy jade destiny patience prudence charity constance honor justice liberty harmony melody
    sunny brook rocky dusty buddy angel angela baker carter cook mason miles price ray
    sterling sage faith hope penny holly heather heath rob art gene jack jay jewel
    major king bishop judge page young white black green brown gray grey long short
    rain snow star storm spring river honey candy cookie sugar
    """
)

US_STATES: frozenset[str] = _words(
    """
    alabama alaska arizona arkansas california colorado connecticut delaware florida georgia
    hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts
    michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon
    pennsylvania tennessee texas utah vermont virginia washington wisconsin wyoming
    """
) | frozenset(
    {
        "new hampshire", "new jersey", "new mexico", "new york", "north carolina", "north dakota",
        "rhode island", "south carolina", "south dakota", "west virginia", "district of columbia",
        "puerto rico",
    }
)  # fmt: skip

US_STATE_CODES: frozenset[str] = _words(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM
    NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR AS FM GU MH MP PW VI AA AE AP
    """
)

# The boilerplate of documents a proxy is handed (fax cover sheets, EHR print-outs, e-mail
# footers, data exports): NER reads an all-caps heading ("CONFIDENTIAL", "CLINICAL SUMMARY EXPORT")
# or a footer word ("error") as a name or a place. Words that are also common surnames (ward, link,
# cover) are left out: a name read as boilerplate would go out raw.
DOCUMENT_WORDS: frozenset[str] = _words(
    """
    confidential confidentiality error errors export exported print printout clerk active inactive
    transmission notify notified recipient recipients intended addressee prohibited disclosure
    copying distribution strictly privileged sheet destroy immediately contents end true false
    null unknown final draft amended version resource type encounter value quantity total
    summary clinical printed status received attached attachment report reports results details
    """
)

# Each state's (and DC's, Puerto Rico's) USPS code: "Washington, PA" is a town, "Washington, WA" may
# be the state.
US_STATE_CODE_OF: dict[str, str] = dict(
    zip(
        (
            "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware",
            "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky",
            "louisiana", "maine", "maryland", "massachusetts", "michigan", "minnesota", "mississippi",
            "missouri", "montana", "nebraska", "nevada", "new hampshire", "new jersey", "new mexico",
            "new york", "north carolina", "north dakota", "ohio", "oklahoma", "oregon", "pennsylvania",
            "rhode island", "south carolina", "south dakota", "tennessee", "texas", "utah", "vermont",
            "virginia", "washington", "west virginia", "wisconsin", "wyoming", "district of columbia",
            "puerto rico",
        ),
        (
            "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
            "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
            "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
            "WI", "WY", "DC", "PR",
        ),
        strict=True,
    )
)  # fmt: skip

# Words that head an identifier label or name a payer/programme; NER sometimes tags them as a
# PERSON or ORG ("Driver's license", "Medicare number", "Insurance: Cigna").
LABEL_AND_PAYER_WORDS: frozenset[str] = _words(
    """
    driver drivers license licence passport medicare medicaid tricare insurance insurer member
    policy claim account social security routing checking savings serial device plate vin mrn dob
    daughter son wife husband mother father mom dad brother sister grandson granddaughter
    pacemaker pump implant defibrillator monitor
    npi dea caller agent patient pt aetna cigna humana unitedhealthcare united healthcare anthem
    kaiser permanente blue cross shield advantage wellcare centene molina ambetter bcbs hmo ppo
    portal chart record referral pharmacy copay deductible customer representative rep operator
    speaker interpreter transcript zip zipcode postcode postal
    """
)

# Generic-drug stems (USAN suffixes): a capitalised word ending in one of these is a medication,
# whatever NER thinks ("Empagliflozin" as a PERSON, "Apixaban" as an ORG).
DRUG_SUFFIXES: tuple[str, ...] = (
    "pril",
    "olol",
    "sartan",
    "statin",
    "azole",
    "mycin",
    "micin",
    "cillin",
    "oxacin",
    "tidine",
    "prazole",
    "afil",
    "mab",
    "nib",
    "ciclovir",
    "vir",
    "pam",
    "lam",
    "zepam",
    "triptan",
    "gliptin",
    "gliflozin",
    "glutide",
    "parin",
    "xaban",
    "gatran",
    "semide",
    "thiazide",
    "dipine",
    "terol",
    "sone",
    "olone",
    "cycline",
    "cef",
    "sulfa",
    "oxetine",
    "xetine",
    "pramine",
    "triptyline",
    "azepine",
    "peridone",
    "apine",
    "done",
    "codone",
    "morphone",
    "profen",
    "fenac",
    "coxib",
    "tropium",
    "dronate",
    "formin",
    "glitazone",
    "lukast",
    "tadine",
    "setron",
    "nacin",
    "vastatin",
    "kinase",
    "plase",
    "relin",
    "tide",
    "umab",
    "ximab",
    "zumab",
    "caine",
    "ipine",
    "onium",
)

# Places above the state level are not identifiers under Safe Harbor.
COUNTRIES_AND_REGIONS: frozenset[str] = frozenset(
    {
        "america", "usa", "us", "u.s.", "u.s.a.", "united states", "united states of america",
        "the united states", "canada", "mexico", "uk", "united kingdom", "england", "britain",
        "great britain", "scotland", "wales", "ireland", "france", "germany", "spain", "italy",
        "portugal", "china", "japan", "india", "korea", "south korea", "russia", "brazil",
        "australia", "europe", "asia", "africa", "the us", "philippines", "vietnam", "cuba",
        "puerto rico", "new england", "midwest", "the midwest", "east coast", "west coast",
        "netherlands", "sweden", "norway", "poland", "ukraine", "israel", "egypt", "nigeria",
        "pakistan", "colombia", "peru", "chile", "argentina", "haiti", "jamaica", "guatemala",
    }
)  # fmt: skip

# Given names common enough that a lower-case token after a weak cue ("i'm", "this is") can be
# trusted as a name; strong cues ("my name is") need no list.
COMMON_FIRST_NAMES: frozenset[str] = _words(
    """
    aaron abigail adam adrian aiden alan albert alex alexander alexis alice alicia allison amanda
    amy andrea andrew angela anna anne anthony antonio ashley austin barbara benjamin betty beverly
    billy bobby brandon brenda brian brittany bruce bryan carl carlos carol carolyn catherine
    charles charlotte cheryl chloe christian christina christine christopher cynthia daniel danielle
    david deborah debra denise dennis diana diane donald donna doris dorothy douglas dylan edward
    elizabeth emily emma eric ethan eugene evelyn frances gabriel gary george gerald gloria gregory
    hannah harold harry heather helen henry isabella jacob jacqueline james janet janice jason
    jeffrey jennifer jeremy jerry jesse jessica joan joe john johnny jonathan jordan jose joseph
    joshua joyce juan judith judy julia julie justin karen katherine kathleen kathryn kayla keith
    kelly kenneth kevin kimberly kyle larry laura lauren lawrence linda lisa logan louis madison
    margaret maria marie marilyn martha martin mary matthew megan melissa michael michelle nancy
    natalie nathan nicholas nicole noah olivia pamela patricia patrick paul peter philip rachel
    ralph randy raymond rebecca richard robert roger ronald roy russell ruth ryan samantha samuel
    sandra sara sarah scott sean sharon shirley sophia stephanie stephen steven susan teresa terry
    theresa thomas timothy tyler victoria vincent virginia walter wayne william zachary luis
    carmen ana rosa miguel jorge sofia lucia priya raj amit wei li mohammed ahmed fatima omar
    tom tommy mike mikey bob jim jimmy dave steve chris matt dan danny nick tony sam ben kate katie
    liz beth jen jenny sue meg ann annie andy rob rick ken ed ron don greg jeff josh jon jake zach
    jess becky debbie cathy kathy vicky cindy mandy sandy wendy peggy patty tina gina molly lucy
    ella ava mia zoe leo max jack luke owen eli evan ian tim charlie eddie freddie ricky jackie
    maggie ellie sophie abby allie ally kim phil pete stan vince walt wes marty mel lou hank
    abigail jose luis carlos juan pedro maria elena rosa isabel diego pablo manuel
    """
)


def _name_file(name: str) -> frozenset[str]:
    data = resources.files(__package__).joinpath("data", name).read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split())


@functools.cache
def given_names() -> frozenset[str]:
    """Case-folded given names ranked in the top 1,000 of any of 100+ countries (~55k)."""
    return _name_file("given_names.txt.gz")


@functools.cache
def family_names() -> frozenset[str]:
    """Case-folded family names ranked in the top 1,000 of any of 100+ countries (~67k)."""
    return _name_file("family_names.txt.gz")
